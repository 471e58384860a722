// Kernel interleaving points: where they sit in the emulated kernel, and
// what the free engine's hook does with them.
import { afterEach, describe, expect, it } from 'vitest';
import { sysMadviseDontneed } from '../../src/kernel/mm/madvise.js';
import {
  KERNEL_POINT_NAMES, SITE_FLUSH_DONE, SITE_FLUSH_ENTER, SITE_GUP_FAST, SITE_LOCK_ACQUIRED, SITE_LOCK_RELEASE, SITE_PTE_WRITE,
} from '../../src/kernel/points.js';
import { interleaveConfig } from '../../src/engine/kernel-points.js';
import { setKernelPointHook } from '../../src/sync/hook.js';
import { spinLock, spinUnlock } from '../../src/sync/spinlock.js';
import { downRead, upRead } from '../../src/sync/rwsem.js';
import { loadEngine } from './helpers.js';
import { BASE, kernelMachine, processWith, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(() => {
  setKernelPointHook(null);
  resetMachineState();
});

describe('kernel interleaving points', () => {
  it('every lock acquisition and release is a point, in that order', () => {
    const seen: number[] = [];
    setKernelPointHook((s) => seen.push(s));
    const a = new Int32Array(new SharedArrayBuffer(64));
    spinLock(a, 0);
    spinUnlock(a, 0);
    downRead(a, 4);
    upRead(a, 4);
    expect(seen).toEqual([SITE_LOCK_ACQUIRED, SITE_LOCK_RELEASE, SITE_LOCK_ACQUIRED, SITE_LOCK_RELEASE]);
  });

  it('a discard passes PTE-write points under its PTE lock, then the flush boundaries', () => {
    const m = kernelMachine(2);
    const k = m.cpu[0]!;
    const mm = processWith(k, 4);
    switchTo(k, mm);
    for (let p = 0; p < 4; p++) expect(write(k, mm, BASE + p, 7)).toBeGreaterThanOrEqual(0);
    const seen: string[] = [];
    setKernelPointHook((s) => seen.push(KERNEL_POINT_NAMES[s]!));
    expect(sysMadviseDontneed(k, mm, BASE, 4)).toBe(0);
    setKernelPointHook(null);
    const firstWrite = seen.indexOf('pte-write');
    expect(firstWrite).toBeGreaterThan(0);
    expect(seen.filter((s) => s === 'pte-write')).toHaveLength(4);
    // The PTEs are cleared with the PTE lock held, and the flush comes after.
    expect(seen.lastIndexOf('lock-acquired', firstWrite)).toBeGreaterThanOrEqual(0);
    const enter = seen.indexOf(KERNEL_POINT_NAMES[SITE_FLUSH_ENTER]!);
    expect(enter).toBeGreaterThan(seen.lastIndexOf('pte-write'));
    expect(seen.indexOf(KERNEL_POINT_NAMES[SITE_FLUSH_DONE]!)).toBeGreaterThan(enter);
    expect(KERNEL_POINT_NAMES[SITE_PTE_WRITE]).toBe('pte-write');
  });
});

describe('the free engine at kernel points', () => {
  it('interleaves at the requested rate and counts it; 0 leaves the hook off', async () => {
    const { runFree } = await loadEngine();
    const on = await runFree({ scenario: 'tlb-flush2-shared', cpus: 2, ops: 300, seed: 3, options: { interleave: 10, stallSpins: 100 } });
    expect(on.totals.violations).toBe(0);
    expect(on.totals.interleavings).toBeGreaterThan(0);
    const off = await runFree({ scenario: 'tlb-flush2-shared', cpus: 2, ops: 300, seed: 3 });
    expect(off.totals.interleavings).toBe(0);
  });

  it('with stallSites, interleaves only at the named points', async () => {
    const { runFree } = await loadEngine();
    // tlb-flush2-shared never runs gup_fast: no point qualifies.
    const none = await runFree({ scenario: 'tlb-flush2-shared', cpus: 2, ops: 300, seed: 3, options: { interleave: 100, stallSpins: 10, stallSites: 'gup-fast' } });
    expect(none.totals.interleavings).toBe(0);
    const some = await runFree({ scenario: 'tlb-flush2-shared', cpus: 2, ops: 300, seed: 3, options: { interleave: 100, stallSpins: 10, stallSites: 'flush-enter+flush-done' } });
    expect(some.totals.interleavings).toBeGreaterThan(0);
  });

  it('refuses a stallSites entry that is not a kernel point, naming the valid ones', () => {
    expect(() => interleaveConfig({ stallSites: 'gup-fast+nope' })).toThrow(/'nope' is not a kernel point: use all, or names joined by \+ from lock-acquired, .*gup-fast/);
    expect(interleaveConfig({ stallSites: 'all' }).siteMask).toBe(-1);
    expect(interleaveConfig({ stallSites: 'pte-write+gup-fast' }).siteMask).toBe((1 << SITE_PTE_WRITE) | (1 << SITE_GUP_FAST));
  });

  it('refuses a rate outside 0..100 before any CPU starts', async () => {
    const { runFree } = await loadEngine();
    await expect(runFree({ scenario: 'tlb-flush2', cpus: 2, ops: 10, options: { interleave: 150 } }))
      .rejects.toThrow(/interleave=150: use a percentage from 0 to 100/);
  });
});
