import { afterEach, describe, expect, it } from 'vitest';
import { MM_FREE, MM_LIVE } from '../../native-layout/bits.js';
import { FRAME_STRIDE, FR_REFCOUNT, MM_STATE, MM_STRIDE } from '../../native-layout/fields.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { violationCount } from '../../src/check/oracle.js';
import { mmput } from '../../src/kernel/mm/exit.js';
import { dupMm } from '../../src/kernel/mm/fork.js';
import { mmgrab, mmdrop } from '../../src/kernel/mm/mm.js';
import { BASE, cached, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const refs = (frame: Int32Array, pfn: number): number => frame[pfn * FRAME_STRIDE + FR_REFCOUNT]!;

function forked() {
  const m = kernelMachine(2);
  const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
  const parent = processWith(k0, 4);
  switchTo(k0, parent);
  const pfns = [0, 1, 2, 3].map((i) => write(k0, parent, BASE + i, 10 + i));
  const child = dupMm(k0, parent);
  expect(child).toBeGreaterThan(0);
  return { ...m, k0, k1, parent, child, pfns };
}

describe('fork with copy-on-write', () => {
  it('the child reads the parent\'s data from the same frames, now shared read-only', () => {
    const { k1, child, pfns, mem } = forked();
    switchTo(k1, child);
    for (let i = 0; i < 4; i++) expect(read(k1, child, BASE + i) & 0xffff).toBe(10 + i);
    for (const pfn of pfns) expect(refs(mem.views.frame, pfn)).toBe(2);
  });

  it('a write on either side copies the page; the other side keeps the old data', () => {
    const { k0, k1, parent, child, pfns, mem } = forked();
    switchTo(k1, child);
    expect(write(k1, child, BASE, 99)).not.toBe(pfns[0]);
    expect(read(k0, parent, BASE) & 0xffff).toBe(10);
    expect(write(k0, parent, BASE + 1, 77)).not.toBe(pfns[1]);
    expect(read(k1, child, BASE + 1) & 0xffff).toBe(11);
    expect(read(k1, child, BASE) & 0xffff).toBe(99);
    expect(refs(mem.views.frame, pfns[0]!)).toBe(1);
    expect(violationCount(mem.views)).toBe(0);
  });

  it('once the other side has its own copy, a write fault reuses the page in place', () => {
    const { k0, k1, parent, child, pfns } = forked();
    switchTo(k1, child);
    write(k1, child, BASE, 99);
    expect(write(k0, parent, BASE, 55)).toBe(pfns[0]);
  });

  it('write-protects the parent and flushes the CPUs running it, so a thread cannot write into the child\'s snapshot', () => {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    const parent = processWith(k0, 1);
    switchTo(k0, parent);
    switchTo(k1, parent);
    const pfn = write(k1, parent, BASE, 1); // CPU 1 now caches a writable entry
    const child = dupMm(k0, parent);
    expect(cached(k1, BASE)).toBe(-1);
    expect(write(k1, parent, BASE, 2)).not.toBe(pfn);
    switchTo(k0, child);
    expect(read(k0, child, BASE) & 0xffff).toBe(1);
  });

  it('after both exit, every frame is free again and the end-of-run check is clean', () => {
    const { k0, k1, parent, child, mem } = forked();
    switchTo(k1, child);
    write(k1, child, BASE + 2, 5);
    // The CPUs hold their active mm; mm_users belongs to the "tasks".
    mmgrab(k0, parent);
    mmgrab(k1, child);
    mmput(k0, parent);
    mmput(k1, child);
    switchTo(k0, 0);
    switchTo(k1, 0);
    mmdrop(k0, parent);
    mmdrop(k1, child);
    expect(mem.views.mm[parent * MM_STRIDE + MM_STATE]).toBe(MM_FREE);
    expect(mem.views.mm[child * MM_STRIDE + MM_STATE]).toBe(MM_FREE);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
    expect(mem.views.mm[0 * MM_STRIDE + MM_STATE]).toBe(MM_LIVE);
  });
});
