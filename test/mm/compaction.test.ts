// kcompactd's migration (src/kernel/mm/compaction.ts): present anonymous
// pages mapped once move to new frames through migration entries; the
// flush before the copy means a CPU that had the page cached writes the
// new copy afterwards; pinned and page-cache pages stay where they are.
import { afterEach, describe, expect, it } from 'vitest';
import { violationCount } from '../../src/check/oracle.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { compactRange } from '../../src/kernel/mm/compaction.js';
import { getPage, pageRefcount, putPage } from '../../src/kernel/mm/page-ref.js';
import { BASE, cached, fileProcessWith, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

describe('kcompactd migration', () => {
  it('moves every page of the range to a new frame; a CPU that cached one writes the new copy after the move', () => {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    const a = processWith(k0, 8);
    switchTo(k0, a);
    switchTo(k1, a);
    const old = Array.from({ length: 8 }, (_, i) => write(k0, a, BASE + i, i + 1));
    write(k1, a, BASE + 3, 40);
    expect(cached(k1, BASE + 3)).toBe(old[3]);
    expect(compactRange(k0, a, BASE, 8)).toBe(8);
    // The move flushed CPU 1's entry: it translates afresh, to the new frame.
    expect(cached(k1, BASE + 3)).toBe(-1);
    write(k1, a, BASE + 3, 41);
    expect(read(k0, a, BASE + 3) & 0xffff).toBe(41);
    for (let i = 0; i < 8; i++) {
      if (i !== 3) expect(read(k1, a, BASE + i) & 0xffff).toBe(i + 1);
      // (An old frame may already hold another page's new copy: the allocator reuses what it freed.)
    }
    expect(violationCount(m.mem.views)).toBe(0);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('leaves a pinned page, and does not move page-cache pages at all', () => {
    const m = kernelMachine(2);
    const k0 = m.cpu[0]!;
    const a = processWith(k0, 4);
    switchTo(k0, a);
    const pfns = Array.from({ length: 4 }, (_, i) => write(k0, a, BASE + i, i + 1));
    getPage(k0, pfns[1]!);
    expect(compactRange(k0, a, BASE, 4)).toBe(3);
    expect(read(k0, a, BASE + 1) & 0xffff).toBe(2);
    expect(pageRefcount(k0, pfns[1]!)).toBe(2);
    putPage(k0, pfns[1]!);
    const f = fileProcessWith(k0, 0, 4, true);
    switchTo(k0, f);
    write(k0, f, BASE, 9);
    expect(compactRange(k0, f, BASE, 4)).toBe(0);
  });
});
