// Global ASIDs, as arch/x86/mm/tlb.c of the 2025 INVLPGB series (Rik van
// Riel): use_global_asid(), allocate_global_asid(), reset_global_asid_space(),
// mm_global_asid(), mm_assign_global_asid(), mm_needs_global_asid(),
// consider_global_asid(), finish_asid_transition() and
// destroy_context_free_global_asid() (mm_free_global_asid()).
//
// A dynamic ASID (asid.ts) names an mm on one CPU only, so a broadcast
// INVLPGB cannot say which PCID to drop. An mm active on several CPUs at
// once gets instead one ASID from a machine-wide space
// [TLB_NR_DYN_ASIDS, MAX_ASID_AVAILABLE), the same PCID on every CPU, and
// from then on its user flushes are INVLPGBs of that PCID (invlpgb.ts
// broadcastTlbFlush) and no IPI. Such a PCID is never flushed at switch_mm:
// every flush of the mm reached it on every CPU, running the mm or not.
//
// The allocator is a bitmap in shared memory under a lock (the kernel
// region's globalAsid* words). A freed ASID is NOT free yet: some CPU may
// still cache translations of the dead mm under its PCID, and no flush of
// that mm will ever come again. It goes to the freed bitmap, and is handed
// out again only after the search wraps, where reset_global_asid_space()
// drops every non-global entry of every PCID on every CPU (one INVLPGB) and
// only then returns the freed ASIDs to the pool. Reuse one before that and
// the new owner's accesses hit the dead mm's entries.
//
// The transition: the mm gets its ASID while CPUs run it under dynamic
// ones. Until each of them switched (at its next switch_mm or flush IPI,
// mm_needs_global_asid), a broadcast alone would miss their dynamic PCIDs,
// so finish_asid_transition() IPIs the mm's CPUs as well while any of them
// still runs it under another ASID, and native_flush_tlb_multi() sends page
// table frees and flushes of such an mm to every CPU of its mask, lazy ones
// included (in_asid_transition).

import {
  GLOBAL_ASID_WORDS as GLOBAL_ASID_WORDS_, INIT_MM as INIT_MM_, LOADED_MM_SWITCHING as LOADED_MM_SWITCHING_,
  MAX_ASID_AVAILABLE as MAX_ASID_AVAILABLE_, TLB_NR_DYN_ASIDS as TLB_NR_DYN_ASIDS_,
} from '../../../native-layout/bits.js';
import {
  CPU_IS_LAZY as CPU_IS_LAZY_, CPU_LOADED_MM as CPU_LOADED_MM_, CPU_LOADED_MM_ASID as CPU_LOADED_MM_ASID_, CPU_STRIDE as CPU_STRIDE_,
  KERNEL_GLOBAL_ASID_AVAILABLE as KERNEL_GLOBAL_ASID_AVAILABLE_, KERNEL_GLOBAL_ASID_FREED as KERNEL_GLOBAL_ASID_FREED_,
  KERNEL_GLOBAL_ASID_LOCK as KERNEL_GLOBAL_ASID_LOCK_, KERNEL_GLOBAL_ASID_USED as KERNEL_GLOBAL_ASID_USED_,
  KERNEL_LAST_GLOBAL_ASID as KERNEL_LAST_GLOBAL_ASID_, MM_ASID_TRANSITION as MM_ASID_TRANSITION_, MM_CPUMASK as MM_CPUMASK_,
  MM_GLOBAL_ASID as MM_GLOBAL_ASID_, MM_STRIDE as MM_STRIDE_,
} from '../../../native-layout/fields.js';
import { INVLPGB_ALL } from '../../hw/invlpgb.js';
import { spinIsLocked, spinTrylock, spinUnlock } from '../../sync/spinlock.js';
import { cpumaskFirst, cpumaskNext } from '../../sync/cpumask.js';
import { C as C_ } from '../../../native-layout/counters.js';
import type { KernelCtx } from '../ctx.js';
import { invlpgbFlushAnyPcid, spinUntil } from './invlpgb.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const GLOBAL_ASID_WORDS = GLOBAL_ASID_WORDS_, INIT_MM = INIT_MM_, LOADED_MM_SWITCHING = LOADED_MM_SWITCHING_,
  MAX_ASID_AVAILABLE = MAX_ASID_AVAILABLE_, TLB_NR_DYN_ASIDS = TLB_NR_DYN_ASIDS_, CPU_IS_LAZY = CPU_IS_LAZY_, CPU_LOADED_MM = CPU_LOADED_MM_,
  CPU_LOADED_MM_ASID = CPU_LOADED_MM_ASID_, CPU_STRIDE = CPU_STRIDE_, KERNEL_GLOBAL_ASID_AVAILABLE = KERNEL_GLOBAL_ASID_AVAILABLE_,
  KERNEL_GLOBAL_ASID_FREED = KERNEL_GLOBAL_ASID_FREED_, KERNEL_GLOBAL_ASID_LOCK = KERNEL_GLOBAL_ASID_LOCK_,
  KERNEL_GLOBAL_ASID_USED = KERNEL_GLOBAL_ASID_USED_, KERNEL_LAST_GLOBAL_ASID = KERNEL_LAST_GLOBAL_ASID_, MM_ASID_TRANSITION = MM_ASID_TRANSITION_,
  MM_CPUMASK = MM_CPUMASK_, MM_GLOBAL_ASID = MM_GLOBAL_ASID_, MM_STRIDE = MM_STRIDE_, C = C_;

/**
 * consider_global_asid()'s threshold: an mm running (not lazily) on at
 * least this many CPUs gets a global ASID. Linux asks for more than 3;
 * here 3, the INVLPGB variant's broadcast threshold, so that 4-CPU runs
 * reach it.
 */
export const GLOBAL_ASID_MIN_CPUS = 3;

/** Global ASIDs the machine has: [TLB_NR_DYN_ASIDS, MAX_ASID_AVAILABLE). */
export const GLOBAL_ASIDS = MAX_ASID_AVAILABLE - TLB_NR_DYN_ASIDS;

/** is_global_asid(): ASIDs past the per-CPU dynamic ones are global. */
export function isGlobalAsid(asid: number): boolean {
  return asid >= TLB_NR_DYN_ASIDS;
}

/** mm_global_asid(): 0, or mm's global ASID (smp_load_acquire: its transition flag is seen with it). */
export function mmGlobalAsid(k: KernelCtx, mm: number): number {
  return Atomics.load(k.mm, mm * MM_STRIDE + MM_GLOBAL_ASID);
}

/**
 * mm_assign_global_asid(): the transition flag first, then the ASID
 * (release). A flusher that sees the ASID must see the transition too, or
 * it would broadcast only to the global PCID while CPUs still run the mm
 * under dynamic ones, and skip the IPIs that reach them.
 */
export function mmAssignGlobalAsid(k: KernelCtx, mm: number, asid: number): void {
  Atomics.store(k.mm, mm * MM_STRIDE + MM_ASID_TRANSITION, 1);
  Atomics.store(k.mm, mm * MM_STRIDE + MM_GLOBAL_ASID, asid);
}

/** mm_in_asid_transition(): some CPU may still run mm under a dynamic ASID. */
export function mmInAsidTransition(k: KernelCtx, mm: number): boolean {
  return mm > INIT_MM && Atomics.load(k.mm, mm * MM_STRIDE + MM_ASID_TRANSITION) !== 0;
}

/**
 * mm_needs_global_asid(): mm has a global ASID and this CPU runs it under
 * another one (asid): the caller reloads CR3 with the global one.
 */
export function mmNeedsGlobalAsid(k: KernelCtx, mm: number, asid: number): boolean {
  if (!k.globalAsids || mm <= INIT_MM) return false;
  const g = mmGlobalAsid(k, mm);
  return g !== 0 && g !== asid;
}

function bitTest(w: Int32Array, at: number, bit: number): boolean {
  return (w[at + (bit >>> 5)]! & (1 << (bit & 31))) !== 0;
}

function bitSet(w: Int32Array, at: number, bit: number): void {
  w[at + (bit >>> 5)] |= 1 << (bit & 31);
}

/**
 * The global ASID lock (raw_spin_lock_irqsave(&global_asid_lock)): taken
 * by spinning through invlpgb.ts's wait, which keeps applying INVLPGBs and
 * answering IPIs. The holder may be inside reset_global_asid_space's
 * TLBSYNC, which waits for this CPU to apply its INVLPGB.
 */
function lockGlobalAsids(k: KernelCtx): void {
  const kern = k.kernel;
  while (!spinTrylock(kern, KERNEL_GLOBAL_ASID_LOCK)) spinUntil(k, () => !spinIsLocked(kern, KERNEL_GLOBAL_ASID_LOCK));
}

/**
 * reset_global_asid_space(), under the lock: one INVLPGB of every
 * non-global entry of every PCID, waited for by TLBSYNC, and only then are
 * the freed ASIDs taken out of the used bitmap.
 */
export function resetGlobalAsidSpace(k: KernelCtx): void {
  const kern = k.kernel;
  invlpgbFlushAnyPcid(k, 0, 0, INVLPGB_ALL);
  for (let w = 0; w < GLOBAL_ASID_WORDS; w++) {
    kern[KERNEL_GLOBAL_ASID_USED + w] &= ~kern[KERNEL_GLOBAL_ASID_FREED + w]!;
    kern[KERNEL_GLOBAL_ASID_FREED + w] = 0;
  }
  kern[KERNEL_LAST_GLOBAL_ASID] = TLB_NR_DYN_ASIDS;
  k.counters[k.countersAt + C.globalAsidResets] += 1;
}

/**
 * allocate_global_asid(), under the lock: the next ASID not in the used
 * bitmap at or after the last one handed out. The search never wraps by
 * itself: reaching the end resets the space (and flushes) first. Returns 0
 * when the bitmap has no free bit from there (Linux warns and gives up).
 */
export function allocateGlobalAsid(k: KernelCtx): number {
  const kern = k.kernel;
  if (kern[KERNEL_LAST_GLOBAL_ASID]! >= MAX_ASID_AVAILABLE - 1) resetGlobalAsidSpace(k);
  let asid = kern[KERNEL_LAST_GLOBAL_ASID]!;
  while (asid < MAX_ASID_AVAILABLE && bitTest(kern, KERNEL_GLOBAL_ASID_USED, asid)) asid++;
  if (asid >= MAX_ASID_AVAILABLE) return 0;
  bitSet(kern, KERNEL_GLOBAL_ASID_USED, asid);
  kern[KERNEL_LAST_GLOBAL_ASID] = asid;
  kern[KERNEL_GLOBAL_ASID_AVAILABLE]--;
  return asid;
}

/**
 * use_global_asid(): give mm a global ASID unless it has one (another of
 * its threads may have got there while we waited for the lock) or none is
 * left. Interrupts must be on: a reset waits for TLBSYNC.
 */
export function useGlobalAsid(k: KernelCtx, mm: number): void {
  lockGlobalAsids(k);
  try {
    if (mmGlobalAsid(k, mm) !== 0 || k.kernel[KERNEL_GLOBAL_ASID_AVAILABLE]! <= 0) return;
    const asid = allocateGlobalAsid(k);
    if (asid === 0) return;
    mmAssignGlobalAsid(k, mm, asid);
    k.counters[k.countersAt + C.globalAsidsAssigned] += 1;
  } finally {
    spinUnlock(k.kernel, KERNEL_GLOBAL_ASID_LOCK);
  }
}

/**
 * destroy_context_free_global_asid() (mm_free_global_asid()): the mm is
 * gone; its ASID goes to the freed bitmap, reusable only after the next
 * reset flush (allocateGlobalAsid skips it until then: it stays in used).
 */
export function destroyContextFreeGlobalAsid(k: KernelCtx, mm: number): void {
  if (mmGlobalAsid(k, mm) === 0) return;
  lockGlobalAsids(k);
  const asid = k.mm[mm * MM_STRIDE + MM_GLOBAL_ASID]!;
  bitSet(k.kernel, KERNEL_GLOBAL_ASID_FREED, asid);
  Atomics.store(k.mm, mm * MM_STRIDE + MM_GLOBAL_ASID, 0);
  Atomics.store(k.mm, mm * MM_STRIDE + MM_ASID_TRANSITION, 0);
  k.kernel[KERNEL_GLOBAL_ASID_AVAILABLE]++;
  spinUnlock(k.kernel, KERNEL_GLOBAL_ASID_LOCK);
}

/**
 * mm_active_cpus_exceeds(): more than `threshold` CPUs run mm now, not
 * lazily (a racy count: a hint, not a rule).
 */
function mmActiveCpusExceeds(k: KernelCtx, mm: number, threshold: number): boolean {
  const st = k.cpuState;
  const maskAt = mm * MM_STRIDE + MM_CPUMASK;
  let n = 0;
  for (let c = cpumaskFirst(k.mm, maskAt); c >= 0; c = cpumaskNext(k.mm, maskAt, c)) {
    const at = c * CPU_STRIDE;
    if (Atomics.load(st, at + CPU_LOADED_MM) !== mm || Atomics.load(st, at + CPU_IS_LAZY) !== 0) continue;
    if (++n > threshold) return true;
  }
  return false;
}

/**
 * consider_global_asid(): after an IPI flush of mm, give it a global ASID
 * if it runs on GLOBAL_ASID_MIN_CPUS CPUs or more and ASIDs are left.
 * Linux looks only every 32nd jiffy per pid; we look at every such flush.
 */
export function considerGlobalAsid(k: KernelCtx, mm: number): void {
  if (!k.globalAsids || mm <= INIT_MM) return;
  if (Atomics.load(k.kernel, KERNEL_GLOBAL_ASID_AVAILABLE) <= 0) return;
  if (mmActiveCpusExceeds(k, mm, GLOBAL_ASID_MIN_CPUS - 1)) useGlobalAsid(k, mm);
}

/**
 * finish_asid_transition(): while some CPU of mm's mask still runs it under
 * a dynamic ASID, the broadcast just sent missed that PCID: returns true so
 * that the caller IPIs the mask as well (the flush IPI also moves such a
 * CPU to the global ASID, flush_tlb_func's mm_needs_global_asid). A CPU in
 * the middle of switch_mm may be loading mm with an ASID chosen before the
 * assignment: wait for it. Once every CPU running mm uses the global ASID,
 * the transition is over.
 */
export function finishAsidTransition(k: KernelCtx, mm: number): boolean {
  if (!mmInAsidTransition(k, mm)) return false;
  const g = mmGlobalAsid(k, mm);
  const st = k.cpuState;
  const maskAt = mm * MM_STRIDE + MM_CPUMASK;
  for (let c = cpumaskFirst(k.mm, maskAt); c >= 0; c = cpumaskNext(k.mm, maskAt, c)) {
    const at = c * CPU_STRIDE;
    if (Atomics.load(st, at + CPU_LOADED_MM) === LOADED_MM_SWITCHING) {
      spinUntil(k, () => Atomics.load(st, at + CPU_LOADED_MM) !== LOADED_MM_SWITCHING);
    }
    if (Atomics.load(st, at + CPU_LOADED_MM) !== mm) continue;
    if (Atomics.load(st, at + CPU_LOADED_MM_ASID) !== g) return true;
  }
  Atomics.store(k.mm, mm * MM_STRIDE + MM_ASID_TRANSITION, 0);
  return false;
}

/** Boot: an empty global ASID space whose first allocation resets (and so flushes) it. */
export function globalAsidInit(kern: Int32Array): void {
  kern[KERNEL_LAST_GLOBAL_ASID] = MAX_ASID_AVAILABLE;
  kern[KERNEL_GLOBAL_ASID_AVAILABLE] = GLOBAL_ASIDS;
  for (let w = 0; w < GLOBAL_ASID_WORDS; w++) {
    kern[KERNEL_GLOBAL_ASID_USED + w] = 0;
    kern[KERNEL_GLOBAL_ASID_FREED + w] = 0;
  }
  // ASIDs 0 .. TLB_NR_DYN_ASIDS - 1 are the dynamic ones: never global.
  for (let a = 0; a < TLB_NR_DYN_ASIDS; a++) bitSet(kern, KERNEL_GLOBAL_ASID_USED, a);
}
