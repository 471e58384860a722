// mmu notifiers (mm/mmu_notifier.c, include/linux/mmu_notifier.h): how a
// secondary MMU (KVM's second-level tables, an IOMMU doing SVA) learns that
// a process's page tables changed, since no CPU TLB flush reaches it.
//
// Each mm has a small fixed array of subscriptions in the SAB (region
// 'mmuNotifier': struct mmu_notifier_subscriptions reduced to kind + arg
// pairs). A kind names a set of callbacks (struct mmu_notifier_ops); each
// thread registers the implementation of each kind once
// (registerMmuNotifierOps), because functions cannot live in shared memory.
//
// The kernel brackets every change to an mm's PTEs:
//   mmu_notifier_invalidate_range_start(range)  before the first PTE write,
//   arch_invalidate_secondary_tlbs(range)       with the CPU TLB flush,
//   mmu_notifier_invalidate_range_end(range)    after the flush,
// and frees the pages only after _end. A secondary MMU that drops its
// translations at start and again at end (or at the secondary-TLB call)
// holds none of the range when the frames go back to the allocator.
//
// Registration happens at set-up, before any CPU runs (the scenarios bind
// devices there), so the callers read the array without a lock. Linux
// protects the list with SRCU for concurrent (un)registration; we have no
// unregistration while CPUs run.

import { C } from '../../../native-layout/counters.js';
import { MMU_NOTIFIER_STRIDE, MN_ARG, MN_COUNT, MN_KIND } from '../../../native-layout/fields.js';
import { MMU_NOTIFIER_MAX_SUBS } from '../../../native-layout/regions.js';
import type { KernelCtx } from '../ctx.js';

/** Ops kinds. 0 is no subscription. */
export const MN_OPS_NONE = 0;
/** An IOMMU-like device bound with SVA (src/kernel/mmu_notifier/iommu-sva.ts); arg = device id. */
export const MN_OPS_IOMMU_SVA = 1;
/** An mshare host mm's notifier (src/kernel/mshare/flush.ts); arg = mshare region. */
export const MN_OPS_MSHARE_HOST = 2;
const MN_OPS_MAX = 8;

/**
 * struct mmu_notifier_ops, reduced to the invalidation callbacks. Ranges
 * are pages [start, end) of the mm the subscription is on; end -1 = all.
 */
export interface MmuNotifierOps {
  invalidateRangeStart(k: KernelCtx, mm: number, arg: number, start: number, end: number): void;
  /** arch_invalidate_secondary_tlbs(): called with (after) the CPU TLB flush of the range. */
  invalidateSecondaryTlbs(k: KernelCtx, mm: number, arg: number, start: number, end: number): void;
  invalidateRangeEnd(k: KernelCtx, mm: number, arg: number, start: number, end: number): void;
}

/** Bad registration: a full array, an unknown kind. */
export class MmuNotifierError extends Error {
  override name = 'MmuNotifierError';
}

const opsTable: (MmuNotifierOps | undefined)[] = new Array<MmuNotifierOps | undefined>(MN_OPS_MAX);

/** Registers this thread's implementation of an ops kind (idempotent for the same object). */
export function registerMmuNotifierOps(kind: number, ops: MmuNotifierOps): void {
  if (!Number.isInteger(kind) || kind <= MN_OPS_NONE || kind >= MN_OPS_MAX) {
    throw new MmuNotifierError(`mmu notifier ops kind ${kind} is invalid: use 1..${MN_OPS_MAX - 1}`);
  }
  opsTable[kind] = ops;
}

/** Empties every mm's subscriptions (boot). */
export function mmuNotifierReset(k: KernelCtx): void {
  const n = k.views.mmuNotifier;
  for (let i = 0; i < n.length; i++) n[i] = 0;
}

/**
 * mmu_notifier_register(): subscribes (kind, arg) to mm's changes.
 * Set-up only (see the header). Throws MmuNotifierError when mm already
 * has MMU_NOTIFIER_MAX_SUBS subscriptions.
 */
export function mmuNotifierRegister(k: KernelCtx, mm: number, kind: number, arg: number): void {
  const n = k.views.mmuNotifier;
  const at = mm * MMU_NOTIFIER_STRIDE;
  const count = n[at + MN_COUNT]!;
  if (count >= MMU_NOTIFIER_MAX_SUBS) {
    throw new MmuNotifierError(`mm ${mm} already has ${count} mmu notifiers (at most ${MMU_NOTIFIER_MAX_SUBS})`);
  }
  n[at + MN_KIND + count] = kind;
  n[at + MN_ARG + count] = arg;
  Atomics.store(n, at + MN_COUNT, count + 1);
}

const CALL_START = 0;
const CALL_SECONDARY = 1;
const CALL_END = 2;

function callAll(k: KernelCtx, which: number, mm: number, start: number, end: number): void {
  const n = k.views.mmuNotifier;
  const at = mm * MMU_NOTIFIER_STRIDE;
  const count = Atomics.load(n, at + MN_COUNT);
  for (let i = 0; i < count; i++) {
    const kind = n[at + MN_KIND + i]!;
    const ops = opsTable[kind];
    if (ops === undefined) throw new MmuNotifierError(`mm ${mm}: mmu notifier kind ${kind} has no ops registered on CPU ${k.cpu}`);
    const arg = n[at + MN_ARG + i]!;
    k.counters[k.countersAt + C.notifierCalls] += 1;
    if (which === CALL_START) ops.invalidateRangeStart(k, mm, arg, start, end);
    else if (which === CALL_SECONDARY) ops.invalidateSecondaryTlbs(k, mm, arg, start, end);
    else ops.invalidateRangeEnd(k, mm, arg, start, end);
  }
}

/** mmu_notifier_invalidate_range_start(): before the first PTE of [start, end) changes. */
export function mmuNotifierInvalidateRangeStart(k: KernelCtx, mm: number, start: number, end: number): void {
  callAll(k, CALL_START, mm, start, end);
}

/** mmu_notifier_arch_invalidate_secondary_tlbs(): from the TLB flush of [start, end). */
export function mmuNotifierArchInvalidateSecondaryTlbs(k: KernelCtx, mm: number, start: number, end: number): void {
  callAll(k, CALL_SECONDARY, mm, start, end);
}

/** mmu_notifier_invalidate_range_end(): after the flush, before the pages are freed. */
export function mmuNotifierInvalidateRangeEnd(k: KernelCtx, mm: number, start: number, end: number): void {
  callAll(k, CALL_END, mm, start, end);
}
