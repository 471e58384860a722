// fork holds the child's mmap_lock while it copies (dup_mmap's
// mmap_write_lock_nested): the PgtableCorruptError of cow-storm asi-off.
import { afterEach, describe, expect, it } from 'vitest';
import { MM_LIVE } from '../../native-layout/bits.js';
import { MM_STATE, MM_STRIDE } from '../../native-layout/fields.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { violationCount } from '../../src/check/oracle.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { mmput } from '../../src/kernel/mm/exit.js';
import { dupMm } from '../../src/kernel/mm/fork.js';
import { mmPgd, mmapLockAt } from '../../src/kernel/mm/mm.js';
import { pteTableSlot } from '../../src/kernel/mm/zap.js';
import { retractEmptyPageTables } from '../../src/kernel/mm/retract.js';
import { SITE_LOCK_ACQUIRED, setKernelPointHook } from '../../src/sync/hook.js';
import { downWriteTrylock, upWrite } from '../../src/sync/rwsem.js';
import { BASE, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(() => {
  setKernelPointHook(null);
  resetMachineState();
});

/** Live mms other than those listed (the child dupMm is filling). */
function newLiveMm(k: KernelCtx, known: readonly number[]): number {
  for (let mm = 1; mm < k.maxMms; mm++) {
    if (!known.includes(mm) && Atomics.load(k.mm, mm * MM_STRIDE + MM_STATE) === MM_LIVE) return mm;
  }
  return -1;
}

describe('fork: the child address space is locked while it is being filled', () => {
  it('a khugepaged pass that picks the new child mid-copy cannot take its mmap_lock, so it frees none of its new tables', () => {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    const parent = processWith(k0, 8);
    switchTo(k0, parent);
    for (let i = 0; i < 8; i++) write(k0, parent, BASE + i, 10 + i);
    // mm_alloc makes the child live (one user) before dup_mmap copies; at
    // the first PTE lock of the copy the child's new PTE table exists and
    // is still empty: what khugepaged (kthread.ts) retracts if it can get
    // the child's mmap_lock.
    let child = -1;
    let khugepagedGotLock = false;
    let retracted = 0;
    setKernelPointHook((site) => {
      if (child >= 0 || site !== SITE_LOCK_ACQUIRED) return;
      const c = newLiveMm(k0, [parent]);
      if (c < 0 || pteTableSlot(k0, mmPgd(k0, c), BASE * 4096) < 0) return;
      child = c;
      if (downWriteTrylock(k1.mm, mmapLockAt(c))) {
        khugepagedGotLock = true;
        upWrite(k1.mm, mmapLockAt(c));
        retracted = retractEmptyPageTables(k1, c);
      }
    });
    const forked = dupMm(k0, parent);
    setKernelPointHook(null);
    expect(child).toBe(forked);
    expect(khugepagedGotLock).toBe(false);
    expect(retracted).toBe(0);
    // Once fork is done, the pass may run: nothing is empty to retract.
    expect(retractEmptyPageTables(k1, forked)).toBe(0);
    switchTo(k1, forked);
    for (let i = 0; i < 8; i++) expect(read(k1, forked, BASE + i) & 0xffff).toBe(10 + i);
    expect(violationCount(m.mem.views)).toBe(0);
    switchTo(k1, parent);
    mmput(k0, forked);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });
});
