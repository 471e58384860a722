// khugepaged's collapse of a mapped anonymous range (src/kernel/mm/collapse.ts):
// the present pages are copied into one 2 MiB block that a new PTE table
// maps whole; a pinned page makes it give up with nothing changed; under
// INVLPGB the old table is freed only after an IPI round, and without it
// (collapse-no-gup-sync, 2ba99c5e0881 reverted) a gup_fast walk inside the
// old table reports sw-walk-freed-table.
import { afterEach, describe, expect, it } from 'vitest';
import { MM_ANON_PAGES, MM_STRIDE } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { VIOLATION_NAMES, violationCount, violationRecords } from '../../src/check/oracle.js';
import { applyFlushPolicy } from '../../src/kernel/design/apply.js';
import { FLUSH_INVLPGB } from '../../src/kernel/design/builtins.js';
import {
  type CollapseTally, SCAN_PAGE_COUNT, SCAN_SUCCEED, collapseHugePage, khugepagedCollapseMm,
} from '../../src/kernel/mm/collapse.js';
import { getUserPagesFast } from '../../src/kernel/mm/gup.js';
import { mmPgd } from '../../src/kernel/mm/mm.js';
import { getPage, pageRefcount, putPage } from '../../src/kernel/mm/page-ref.js';
import { pteTablePfn } from '../../src/kernel/mm/zap.js';
import { findVma } from '../../src/kernel/mm/vma.js';
import { SITE_GUP_FAST } from '../../src/kernel/points.js';
import { ipisSent } from '../../src/kernel/tlb/flush-mm.js';
import { setKernelPointHook } from '../../src/sync/hook.js';
import { BASE, PAGE, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(() => {
  setKernelPointHook(null);
  resetMachineState();
});

/** 4 CPUs on one mm whose VMA is the whole 2 MiB range at BASE; `touched` pages written (secret i + 1), read on every CPU. */
function wholeRange(touched: number, invlpgb = false) {
  const m = kernelMachine(4, { memBytes: 32 * 2 ** 20 });
  const k0 = m.cpu[0]!;
  const a = processWith(k0, 512);
  for (const k of m.cpu) {
    if (invlpgb) applyFlushPolicy(k, FLUSH_INVLPGB);
    switchTo(k, a);
  }
  const pfns: number[] = [];
  for (let i = 0; i < touched; i++) pfns.push(write(k0, a, BASE + i * 7, i + 1));
  for (const k of m.cpu) read(k, a, BASE);
  return { ...m, k0, k1: m.cpu[1]!, a, pfns, vma: findVma(k0, a, BASE) };
}

const anonPages = (k: ReturnType<typeof wholeRange>['k0'], mm: number): number => Atomics.load(k.mm, mm * MM_STRIDE + MM_ANON_PAGES);

describe('collapse_huge_page', () => {
  it('copies the present pages into one 2 MiB block mapped by a new table, and frees the old pages and table', () => {
    const { k0, k1, a, pfns, vma, mem } = wholeRange(10);
    const oldTable = pteTablePfn(k0, mmPgd(k0, a), BASE * PAGE);
    expect(collapseHugePage(k0, a, vma, BASE)).toBe(SCAN_SUCCEED);
    const newTable = pteTablePfn(k0, mmPgd(k0, a), BASE * PAGE);
    expect(newTable).toBeGreaterThanOrEqual(0);
    expect(newTable).not.toBe(oldTable);
    // Every CPU reads what was written, from the new block, contiguous and 2 MiB aligned.
    const out = new Int32Array(1);
    expect(getUserPagesFast(k1, a, BASE, 1, false, out)).toBe(1);
    const block = out[0]!;
    putPage(k1, block);
    expect(block % 512).toBe(0);
    for (const k of [k0, k1]) {
      for (let i = 0; i < 10; i++) expect(read(k, a, BASE + i * 7) & 0xffff).toBe(i + 1);
      // An entry that was none is now a zero page of the block.
      expect(read(k, a, BASE + 1)).toBe(0);
    }
    for (let i = 0; i < 10; i++) {
      expect(getUserPagesFast(k0, a, BASE + i * 7, 1, false, out)).toBe(1);
      expect(out[0]).toBe(block + i * 7);
      putPage(k0, out[0]!);
    }
    // The old pages went back to the allocator (one reference, the mapping's).
    for (const p of pfns) expect(pageRefcount(k0, p)).toBe(0);
    expect(anonPages(k0, a)).toBe(512);
    expect(violationCount(mem.views)).toBe(0);
  });

  it('a pinned page makes it give up, leaving the table, the pages and the PMD entry as they were', () => {
    const { k0, a, pfns, vma, mem } = wholeRange(4);
    const table = pteTablePfn(k0, mmPgd(k0, a), BASE * PAGE);
    getPage(k0, pfns[2]!);
    const sent = ipisSent(k0);
    expect(collapseHugePage(k0, a, vma, BASE)).toBe(SCAN_PAGE_COUNT);
    // The scan before the allocation saw the pin: no flush, nothing sent.
    expect(ipisSent(k0)).toBe(sent);
    expect(pteTablePfn(k0, mmPgd(k0, a), BASE * PAGE)).toBe(table);
    for (let i = 0; i < 4; i++) expect(read(k0, a, BASE + i * 7) & 0xffff).toBe(i + 1);
    expect(pageRefcount(k0, pfns[2]!)).toBe(2);
    putPage(k0, pfns[2]!);
    expect(anonPages(k0, a)).toBe(4);
    expect(violationCount(mem.views)).toBe(0);
  });

  it('khugepaged takes only ranges a private anonymous VMA covers whole, and skips empty ones', () => {
    const m = kernelMachine(2, { memBytes: 32 * 2 ** 20 });
    const k0 = m.cpu[0]!;
    const part = processWith(k0, 511);
    switchTo(k0, part);
    write(k0, part, BASE, 1);
    const tally: CollapseTally = { collapsed: 0, aborted: 0 };
    khugepagedCollapseMm(k0, part, tally);
    expect(tally).toEqual({ collapsed: 0, aborted: 0 });
    const whole = processWith(k0, 1024);
    switchTo(k0, whole);
    write(k0, whole, BASE + 600, 9);
    khugepagedCollapseMm(k0, whole, tally);
    // The first 2 MiB range maps nothing (skipped), the second one page.
    expect(tally).toEqual({ collapsed: 1, aborted: 0 });
    expect(read(k0, whole, BASE + 600) & 0xffff).toBe(9);
  });

  it('under INVLPGB the old table is freed after an IPI round to the other CPUs', () => {
    const { k0, a, vma } = wholeRange(3, true);
    const sent = ipisSent(k0);
    expect(collapseHugePage(k0, a, vma, BASE)).toBe(SCAN_SUCCEED);
    expect(ipisSent(k0) - sent).toBe(3);
  });

  it('with collapse-no-gup-sync, a collapse under a gup_fast walk frees the table it is in: reported, naming gup_fast', () => {
    const { k0, k1, a, vma } = wholeRange(3, true);
    const table = pteTablePfn(k0, mmPgd(k0, a), BASE * PAGE);
    injected[BUG['collapse-no-gup-sync']!] = 1;
    const sent = ipisSent(k0);
    let staged = false;
    setKernelPointHook((site) => {
      if (site !== SITE_GUP_FAST || staged) return;
      staged = true;
      expect(collapseHugePage(k0, a, vma, BASE)).toBe(SCAN_SUCCEED);
    });
    const out = new Int32Array(4);
    expect(getUserPagesFast(k1, a, BASE, 1, false, out)).toBe(0);
    expect(staged).toBe(true);
    expect(ipisSent(k0) - sent).toBe(0);
    const r = violationRecords(k0.views)[0]!;
    expect([VIOLATION_NAMES[r.kind], r.cpu, r.pfn, r.swWalker, r.swLevel]).toEqual(['sw-walk-freed-table', 1, table, 'gup_fast', 1]);
  });
});
