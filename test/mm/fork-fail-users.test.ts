// A fork that fails mid-copy must give the child mm up through mm_users
// (dup_mm's error path is mmput, kernel/fork.c), not tear it down behind
// the back of another user: a khugepaged pass (workloads/mm/kthread.ts)
// that took mmget_not_zero on the child while it was being copied. The
// open finding of cow-storm asi-on+ephmap at 8 CPUs: the record was freed
// under khugepaged's reference, reused by the next fork, and khugepaged's
// mmput then tore the new child down while its task ran (walks through
// PGD -1, readback of zeroed pages).
import { afterEach, describe, expect, it } from 'vitest';
import { MM_FREE, MM_LIVE, MM_NEW } from '../../native-layout/bits.js';
import { MM_PGD, MM_STATE, MM_STRIDE, MM_USERS } from '../../native-layout/fields.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { violationCount } from '../../src/check/oracle.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { mmput } from '../../src/kernel/mm/exit.js';
import { dupMm } from '../../src/kernel/mm/fork.js';
import { mmAlloc, mmCheckSchedulable, mmgetNotZero, mmPgd } from '../../src/kernel/mm/mm.js';
import { enableMmLocalRegion } from '../../src/kernel/ephmap/region.js';
import { pteTableSlot } from '../../src/kernel/mm/zap.js';
import { GFP_KERNEL } from '../../src/kernel/page_alloc/gfp.js';
import { taskAlloc, taskRelease } from '../../src/kernel/sched/task.js';
import { SITE_LOCK_ACQUIRED, setKernelPointHook } from '../../src/sync/hook.js';
import { BASE, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(() => {
  setKernelPointHook(null);
  resetMachineState();
});

const PTRS_PER_PTE = 512;
const KIND_USER = 2;

function mmStateOf(k: KernelCtx, mm: number): number {
  return Atomics.load(k.mm, mm * MM_STRIDE + MM_STATE);
}

function liveMmOtherThan(k: KernelCtx, known: readonly number[]): number {
  for (let mm = 1; mm < k.maxMms; mm++) {
    if (!known.includes(mm) && mmStateOf(k, mm) === MM_LIVE) return mm;
  }
  return -1;
}

describe('fork failure vs a concurrent mm_users reference', () => {
  it('a child that khugepaged holds survives the failed fork, is torn down by khugepaged\'s mmput, and a reused record is never torn down twice', () => {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    // Two PTE tables' worth: the copy allocates the child's second PTE
    // table after the first chunk, which is where it runs out of memory.
    const first = BASE + PTRS_PER_PTE - 2;
    const parent = processWith(k0, 4, first);
    switchTo(k0, parent);
    for (let i = 0; i < 4; i++) write(k0, parent, first + i, 20 + i);

    let child = -1;
    const hoard: number[] = [];
    let inHook = false;
    setKernelPointHook((site) => {
      if (inHook || child >= 0 || site !== SITE_LOCK_ACQUIRED) return;
      const c = liveMmOtherThan(k0, [parent]);
      if (c < 0 || pteTableSlot(k0, mmPgd(k0, c), first * 4096) < 0) return;
      inHook = true;
      child = c;
      // khugepaged (CPU 1) finds the child live and takes a user reference.
      expect(mmgetNotZero(k1, c)).toBe(true);
      // Memory runs out (the fork storm's other CPUs): the copy of the
      // second chunk cannot get a PTE table.
      for (const k of [k0, k1]) {
        for (;;) {
          const pfn = k.alloc.allocPages(k.cpu, 0, GFP_KERNEL);
          if (pfn < 0) break;
          hoard.push(pfn);
        }
      }
      inHook = false;
    });
    const r = dupMm(k0, parent);
    setKernelPointHook(null);
    expect(child).toBeGreaterThan(0);
    expect(r).toBeLessThan(0);
    for (const pfn of hoard) k0.alloc.freePages(k0.cpu, pfn, 0);

    // khugepaged still holds the child: its record and PGD stay.
    expect(mmStateOf(k0, child)).not.toBe(MM_FREE);
    expect(k0.mm[child * MM_STRIDE + MM_PGD]).toBeGreaterThanOrEqual(0);
    expect(Atomics.load(k0.mm, child * MM_STRIDE + MM_USERS)).toBe(1);

    // khugepaged's pass ends: the last user tears it down.
    mmput(k1, child);
    expect(mmStateOf(k0, child)).toBe(MM_FREE);
    expect(Atomics.load(k0.mm, child * MM_STRIDE + MM_USERS)).toBe(0);

    // The next fork may reuse the record; its task must be able to run.
    const again = dupMm(k0, parent);
    expect(again).toBeGreaterThan(0);
    const tid = taskAlloc(k0, again, KIND_USER, -1, -1);
    expect(() => mmCheckSchedulable(k1, tid, again)).not.toThrow();
    switchTo(k1, again);
    for (let i = 0; i < 4; i++) expect(read(k1, again, first + i) & 0xffff).toBe(20 + i);
    expect(violationCount(m.mem.views)).toBe(0);
    switchTo(k1, parent);
    taskRelease(k0, tid);
    mmput(k0, again);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('mm_alloc publishes mm_users only once the record is complete: a stale LIVE seen by a scanner gets no reference on a half-built record', () => {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    // The mm-local region: tables allocated after the record is filled in,
    // i.e. lock acquisitions (kernel points) while the record is NEW.
    enableMmLocalRegion(k0);
    let tried = 0;
    let got = 0;
    let target = -1;
    setKernelPointHook((site) => {
      if (site !== SITE_LOCK_ACQUIRED || target < 0 || mmStateOf(k0, target) !== MM_NEW) return;
      // khugepaged read MM_LIVE before the record's last life ended; its
      // mmget_not_zero lands now, while mm_alloc still builds the record.
      tried++;
      if (mmgetNotZero(k1, target)) got++;
    });
    // Which record mm_alloc takes next: the first free one.
    target = 1;
    while (mmStateOf(k0, target) !== MM_FREE) target++;
    const mm = mmAlloc(k0);
    setKernelPointHook(null);
    expect(mm).toBe(target);
    expect(tried).toBeGreaterThan(0);
    expect(got).toBe(0);
    expect(Atomics.load(k0.mm, mm * MM_STRIDE + MM_USERS)).toBe(1);
    expect(mmStateOf(k0, mm)).toBe(MM_LIVE);
    mmput(k0, mm);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });
});
