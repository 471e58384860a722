// Reclaim's batched unmap flushes: mm/rmap.c set_tlb_ubc_flush_pending(),
// try_to_unmap_flush[_dirty]() and flush_tlb_batched_pending(), with x86's
// arch_tlbbatch_should_defer/add_pending/flush (arch/x86/mm/tlb.c,
// asm/tlbflush.h).
//
// Reclaim unmaps many pages from many mms in a row. Flushing each PTE on
// the spot would send one round of IPIs per page; instead, when other CPUs
// may cache the mm, the PTE is cleared, the mm's generation bumped and its
// cpumask ORed into the reclaiming task's batch, and one full flush of every
// CPU in the batch runs before anything that depends on the unmap being
// complete: writing back a page that was unmapped dirty (a CPU could still
// write it through its cached entry while it is copied), and freeing.
//
// The batch (struct tlbflush_unmap_batch, current->tlb_ubc) is per task,
// in the task region: Linux keeps it in task_struct because the reclaiming
// task may be preempted and migrate between unmapping and flushing, and the
// flush must still cover what it unmapped wherever it resumes. (Our kswapd
// is pinned, but direct reclaim from a user task would not be.)
//
// What the deferral breaks is the assumption of every other PTE walker that
// a none PTE has nothing cached: mprotect finding the PTE already cleared
// changes nothing and flushes nothing, returns, and the user goes on writing
// through the entry reclaim has not flushed yet (3ea277194daa). So the mm
// counts batched unmaps (mm->tlb_flush_batched) and the walkers of
// mprotect, munmap/madvise (zap) and mremap call flushTlbBatchedPending
// under the PTE lock (injectable for mprotect as reclaim-batch-vs-mprotect).

import {
  CPU_PREEMPT_COUNT as CPU_PREEMPT_COUNT_, MM_CPUMASK as MM_CPUMASK_, MM_STRIDE as MM_STRIDE_, MM_TLB_FLUSH_BATCHED as MM_TLB_FLUSH_BATCHED_,
  TASK_STRIDE as TASK_STRIDE_, TASK_UBC_CPUMASK as TASK_UBC_CPUMASK_, TASK_UBC_FLAGS as TASK_UBC_FLAGS_,
} from '../../../native-layout/fields.js';
import { cpumaskClear, cpumaskFirst, cpumaskNext, cpumaskOr } from '../../sync/cpumask.js';
import type { KernelCtx } from '../ctx.js';
import { localIrqRestore, localIrqSave } from '../smp.js';
import { FLUSH_ALL, FLUSH_MM_NONE, flushInfo0, flushTlbFunc, irqsOff } from './flush-func.js';
import { FlushError, flushTlbMm, flushTlbMulti, incMmTlbGen } from './flush-mm.js';
import { INVLPGB_ALL } from '../../hw/invlpgb.js';
import { invlpgbFlushAnyPcid } from './invlpgb.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const CPU_PREEMPT_COUNT = CPU_PREEMPT_COUNT_, MM_CPUMASK = MM_CPUMASK_, MM_STRIDE = MM_STRIDE_, MM_TLB_FLUSH_BATCHED = MM_TLB_FLUSH_BATCHED_,
  TASK_STRIDE = TASK_STRIDE_, TASK_UBC_CPUMASK = TASK_UBC_CPUMASK_, TASK_UBC_FLAGS = TASK_UBC_FLAGS_;

/** tlb_ubc.flush_required: something was unmapped and not flushed. */
export const UBC_FLUSH_REQUIRED = 1;
/** tlb_ubc.writable: one of those PTEs was dirty (a CPU may still write the page). */
export const UBC_WRITABLE = 2;

/**
 * mm->tlb_flush_batched packs two 16-bit counts: batched unmaps (pending,
 * low half) and the pending value the last flush_tlb_batched_pending
 * covered (flushed, high half). Equal: nothing deferred since.
 */
export const TLB_FLUSH_BATCHED_SHIFT = 16;
const TLB_FLUSH_BATCHED_MASK = (1 << TLB_FLUSH_BATCHED_SHIFT) - 1;
/** Near the top of the pending half, both counts restart (pending 1, flushed 0) so pending never wraps onto flushed. */
const TLB_FLUSH_BATCHED_PENDING = TLB_FLUSH_BATCHED_MASK >> 1;

function ubcMaskAt(tid: number): number {
  return tid * TASK_STRIDE + TASK_UBC_CPUMASK;
}

function ubcFlagsAt(tid: number): number {
  return tid * TASK_STRIDE + TASK_UBC_FLAGS;
}

/** arch_tlbbatch_should_defer(): defer only when another CPU may cache mm (a local flush is cheap). */
export function archTlbbatchShouldDefer(k: KernelCtx, mm: number): boolean {
  const at = mm * MM_STRIDE + MM_CPUMASK;
  for (let c = cpumaskFirst(k.mm, at); c >= 0; c = cpumaskNext(k.mm, at, c)) if (c !== k.cpu) return true;
  return false;
}

/**
 * arch_tlbbatch_add_pending(): the generation moves first (an atomic RMW,
 * after the PTE clear it covers) and the cpumask is read after it, the same
 * pairing as flush_tlb_mm_range with switch_mm: a CPU switching to mm after
 * our read finds the bumped generation and flushes itself; one that
 * switched in before is in the mask we OR in.
 */
export function archTlbbatchAddPending(k: KernelCtx, tid: number, mm: number): void {
  incMmTlbGen(k, mm);
  const at = ubcMaskAt(tid);
  cpumaskOr(k.task, at, k.task, at, k.mm, mm * MM_STRIDE + MM_CPUMASK);
}

/**
 * set_tlb_ubc_flush_pending(): a PTE of mm was cleared (under its lock)
 * without a flush. The batched count moves after the PTE clear and before
 * the PTE lock is dropped: a walker that takes the lock next sees it.
 */
export function setTlbUbcFlushPending(k: KernelCtx, tid: number, mm: number, writable: boolean): void {
  archTlbbatchAddPending(k, tid, mm);
  k.task[ubcFlagsAt(tid)] |= UBC_FLUSH_REQUIRED | (writable ? UBC_WRITABLE : 0);
  const at = mm * MM_STRIDE + MM_TLB_FLUSH_BATCHED;
  let batch = Atomics.load(k.mm, at);
  for (;;) {
    const next = (batch & TLB_FLUSH_BATCHED_PENDING) === TLB_FLUSH_BATCHED_PENDING ? 1 : batch + 1;
    const seen = Atomics.compareExchange(k.mm, at, batch, next);
    if (seen === batch) return;
    batch = seen;
  }
}

/**
 * arch_tlbbatch_flush(): flush_tlb_multi over the batch's CPUs with no mm,
 * no range and no generation: each target flushes everything of the mm it
 * runs if that mm's generation moved past its own (add_pending bumped it),
 * and lazy targets are skipped (should_flush_tlb), catching up by
 * generation when they switch. Under the INVLPGB variant, a batch that
 * reaches INVLPGB_MIN_CPUS CPUs is one "all non-global entries" broadcast
 * with TLBSYNC instead, as Linux's invlpgb_flush_all_nonglobals(): every
 * CPU, lazy ones too, drops every user translation, and no generation moves
 * (each CPU catches up, with a flush it no longer needs, at its next switch
 * or flush IPI).
 */
export function archTlbbatchFlush(k: KernelCtx, tid: number): void {
  k.smp.lockdep.checkWaitForAcks(k.cpu);
  if (irqsOff(k)) throw new FlushError(`CPU ${k.cpu}: arch_tlbbatch_flush with interrupts disabled`);
  const st = k.cpuState;
  st[k.cpuAt + CPU_PREEMPT_COUNT]++;
  const at = ubcMaskAt(tid);
  const info0 = flushInfo0(FLUSH_MM_NONE, k.cpu, 0);
  let other = false;
  for (let c = cpumaskFirst(k.task, at); c >= 0; c = cpumaskNext(k.task, at, c)) if (c !== k.cpu) other = true;
  // The design's flush policy decides broadcast or IPIs here too (a batch
  // is a flush of several mms at once, by the same rule).
  // With global ASIDs a batch may hold an mm that runs under one, here or
  // elsewhere, and flush_tlb_func leaves such a PCID to the broadcasts: the
  // batch is always the broadcast of every non-global entry then (Linux's
  // arch_tlbbatch_flush under INVLPGB).
  if (k.globalAsids && cpumaskFirst(k.task, at) >= 0) {
    invlpgbFlushAnyPcid(k, 0, 0, INVLPGB_ALL);
  } else if (other && k.flush.useBroadcast(k, k.task, at)) {
    invlpgbFlushAnyPcid(k, 0, 0, INVLPGB_ALL);
  } else if (other) {
    flushTlbMulti(k, k.task, at, info0, 0, FLUSH_ALL, 0, false);
  } else if (cpumaskFirst(k.task, at) === k.cpu) {
    const saved = localIrqSave(k.smp);
    flushTlbFunc(k, info0, 0, FLUSH_ALL, 0);
    localIrqRestore(k.smp, saved);
  }
  cpumaskClear(k.task, at);
  st[k.cpuAt + CPU_PREEMPT_COUNT]--;
}

/** try_to_unmap_flush(): before freeing anything the batch unmapped. */
export function tryToUnmapFlush(k: KernelCtx, tid: number): void {
  const at = ubcFlagsAt(tid);
  if ((k.task[at] & UBC_FLUSH_REQUIRED) === 0) return;
  archTlbbatchFlush(k, tid);
  k.task[at] = 0;
}

/** try_to_unmap_flush_dirty(): before writeback, if a dirty PTE was unmapped without a flush. */
export function tryToUnmapFlushDirty(k: KernelCtx, tid: number): void {
  if ((k.task[ubcFlagsAt(tid)] & UBC_WRITABLE) !== 0) tryToUnmapFlush(k, tid);
}

/** The batch state of a task (tests): UBC_* flags. */
export function tlbUbcFlags(k: KernelCtx, tid: number): number {
  return k.task[ubcFlagsAt(tid)]!;
}

/** mm->tlb_flush_batched: [pending, flushed]. */
export function tlbFlushBatched(k: KernelCtx, mm: number): [number, number] {
  const b = Atomics.load(k.mm, mm * MM_STRIDE + MM_TLB_FLUSH_BATCHED);
  return [b & TLB_FLUSH_BATCHED_MASK, b >>> TLB_FLUSH_BATCHED_SHIFT];
}

/**
 * flush_tlb_batched_pending(): called by a PTE walker with the PTE lock
 * held. If reclaim cleared PTEs of mm and has not flushed them, a none PTE
 * we find may still be cached (writable) somewhere: flush the whole mm now,
 * before the walker decides there is nothing to flush. The covered count is
 * recorded only if no new unmap was batched during our flush (otherwise
 * that one would be marked flushed without having been).
 */
export function flushTlbBatchedPending(k: KernelCtx, mm: number): void {
  const at = mm * MM_STRIDE + MM_TLB_FLUSH_BATCHED;
  const batch = Atomics.load(k.mm, at);
  const pending = batch & TLB_FLUSH_BATCHED_MASK;
  if (pending === batch >>> TLB_FLUSH_BATCHED_SHIFT) return;
  flushTlbMm(k, mm);
  Atomics.compareExchange(k.mm, at, batch, pending | (pending << TLB_FLUSH_BATCHED_SHIFT));
}
