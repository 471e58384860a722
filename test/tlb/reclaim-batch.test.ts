import { afterEach, describe, expect, it } from 'vitest';
import { NO_MM, VM_READ } from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { V_WRITE_AFTER_DOWNGRADE, firstViolation, reportViolation } from '../../src/check/oracle.js';
import { FAULT_SIGSEGV } from '../../src/kernel/mm/fault.js';
import { findGetPage } from '../../src/kernel/mm/filemap.js';
import { sysMadviseDontneed } from '../../src/kernel/mm/madvise.js';
import { sysMprotect } from '../../src/kernel/mm/mprotect.js';
import { putPage } from '../../src/kernel/mm/page-ref.js';
import { ReclaimList } from '../../src/kernel/mm/vmscan.js';
import { taskAlloc } from '../../src/kernel/sched/task.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import {
  UBC_FLUSH_REQUIRED, UBC_WRITABLE, archTlbbatchShouldDefer, flushTlbBatchedPending, tlbFlushBatched, tlbUbcFlags,
  tryToUnmapFlush, tryToUnmapFlushDirty,
} from '../../src/kernel/tlb/batch.js';
import { ipisSent } from '../../src/kernel/tlb/flush-mm.js';
import { applyFlushPolicy } from '../../src/kernel/design/apply.js';
import { FLUSH_INVLPGB } from '../../src/kernel/design/builtins.js';
import { BASE, cached, goLazy, fileProcessWith, kernelMachine, resetMachineState, switchTo, tlbGen, write } from './kernel-machine.js';

afterEach(resetMachineState);

const FILE = 4;

/**
 * CPUs 0 and 1 run process a (a shared mapping of FILE at BASE); CPU 1 has
 * written page `index`, so it caches a writable, dirty entry. CPU 2 (lazy)
 * is reclaim: it unmaps that page with the flush deferred, and stops there.
 */
function deferredUnmap(index: number) {
  const m = kernelMachine(3);
  const [k0, k1, k2] = [m.cpu[0]!, m.cpu[1]!, m.cpu[2]!];
  const a = fileProcessWith(k0, FILE, 8, true);
  switchTo(k0, a);
  switchTo(k1, a);
  switchTo(k2, a);
  goLazy(k2);
  const pfn = write(k1, a, BASE + index, 9);
  write(k0, a, BASE + 7, 1); // another page, so the PTE table stays
  const tid = taskAlloc(k2, NO_MM, 1, 2, -1);
  const list = new ReclaimList();
  list.begin(k2, tid, FILE);
  list.add(index);
  list.pfn[0] = findGetPage(k2, FILE, index);
  expect(list.pfn[0]).toBe(pfn);
  const gen = tlbGen(k0, a);
  expect(list.tryToUnmap(0)).toBe(1);
  expect(tlbGen(k0, a)).toBe(gen + 1);
  /** Reclaim's end of pass: flush the batch, drop the isolation reference. */
  const finish = (): void => {
    tryToUnmapFlush(k2, tid);
    putPage(k2, pfn);
  };
  return { ...m, k0, k1, k2, a, tid, pfn, list, finish };
}

const writeFaults = (k: KernelCtx, mm: number, vpn: number): boolean => write(k, mm, vpn, 3) === FAULT_SIGSEGV;

describe('reclaim unmap batch (arch_tlbbatch) and flush_tlb_batched_pending', () => {
  it('a deferred unmap leaves the entry cached, records the batch and the mm pending count', () => {
    const { k1, k2, a, tid, pfn, finish } = deferredUnmap(2);
    expect(archTlbbatchShouldDefer(k2, a)).toBe(true);
    expect(cached(k1, BASE + 2)).toBe(pfn);
    expect(tlbUbcFlags(k2, tid)).toBe(UBC_FLUSH_REQUIRED | UBC_WRITABLE);
    expect(tlbFlushBatched(k2, a)).toEqual([1, 0]);
    finish();
    expect(cached(k1, BASE + 2)).toBe(-1);
    expect(tlbUbcFlags(k2, tid)).toBe(0);
  });

  it('under --variant invlpgb, the batch flush is one all-non-global broadcast with TLBSYNC, no IPI', () => {
    const { cpu, k1, k2, finish, mem } = deferredUnmap(2);
    for (const k of cpu) applyFlushPolicy(k, FLUSH_INVLPGB);
    const sent = ipisSent(k2);
    finish();
    expect(ipisSent(k2)).toBe(sent);
    expect(k2.counters[k2.countersAt + C.invlpgb]).toBe(1);
    expect(cached(k1, BASE + 2)).toBe(-1);
    expect(k1.mmu.tlb.probePfn((BASE + 7) * 4096, k1.mmu.cr3Pcid)).toBe(-1);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('try_to_unmap_flush_dirty flushes a batch holding a dirty PTE; a clean batch waits for try_to_unmap_flush', () => {
    const d = deferredUnmap(2);
    tryToUnmapFlushDirty(d.k2, d.tid);
    expect(cached(d.k1, BASE + 2)).toBe(-1);
    expect(tlbUbcFlags(d.k2, d.tid)).toBe(0);
    putPage(d.k2, d.pfn);
  });

  it('flush_tlb_batched_pending flushes the mm once and records it; a second call sends nothing', () => {
    const { k0, k1, a, pfn, finish, mem } = deferredUnmap(2);
    expect(cached(k1, BASE + 2)).toBe(pfn);
    const sent = ipisSent(k0);
    flushTlbBatchedPending(k0, a);
    expect(ipisSent(k0)).toBeGreaterThan(sent);
    expect(cached(k1, BASE + 2)).toBe(-1);
    expect(tlbFlushBatched(k0, a)).toEqual([1, 1]);
    const again = ipisSent(k0);
    flushTlbBatchedPending(k0, a);
    expect(ipisSent(k0)).toBe(again);
    finish();
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('mprotect(PROT_READ) finding the PTE cleared still flushes the batched unmap: the next write faults', () => {
    const { k0, k1, a, finish, mem } = deferredUnmap(2);
    expect(sysMprotect(k0, a, BASE + 2, 1, VM_READ)).toBe(0);
    expect(cached(k1, BASE + 2)).toBe(-1);
    expect(writeFaults(k1, a, BASE + 2)).toBe(true);
    finish();
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('with reclaim-batch-vs-mprotect, mprotect(PROT_READ) returns with the writable entry still cached and the write goes through', () => {
    const { k0, k1, a, pfn, finish } = deferredUnmap(2);
    injected[BUG['reclaim-batch-vs-mprotect']!] = 1;
    expect(sysMprotect(k0, a, BASE + 2, 1, VM_READ)).toBe(0);
    expect(cached(k1, BASE + 2)).toBe(pfn);
    expect(write(k1, a, BASE + 2, 3)).toBe(pfn);
    finish();
    expect(writeFaults(k1, a, BASE + 2)).toBe(true);
  });

  it('madvise(DONTNEED) (the zap walker) flushes the batched unmap too', () => {
    const { k0, k1, a, finish } = deferredUnmap(2);
    expect(sysMadviseDontneed(k0, a, BASE, 8)).toBe(0);
    expect(cached(k1, BASE + 2)).toBe(-1);
    finish();
  });

  it('a write after the downgrade is reported as write-after-downgrade', () => {
    const { mem } = kernelMachine(1);
    reportViolation(mem.views, 0, V_WRITE_AFTER_DOWNGRADE, BASE * 4096, 5, 3, 3, 1, 9);
    expect(firstViolation(mem.views)).toMatchObject({ kind: V_WRITE_AFTER_DOWNGRADE, kindName: 'write-after-downgrade', pfn: 5 });
  });
});
