// Switching address spaces, as arch/x86/mm/tlb.c switch_mm_irqs_off(),
// load_new_mm_cr3() and enter_lazy_tlb(). Runs on the switching CPU with
// interrupts off, so a flush IPI aimed at it waits until the switch is
// complete and then finds loaded_mm and the ctx generation consistent.

import { INIT_MM as INIT_MM_, LOADED_MM_SWITCHING as LOADED_MM_SWITCHING_ } from '../../../native-layout/bits.js';
import {
  CPU_CTX_ID as CPU_CTX_ID_, CPU_CTX_TLB_GEN as CPU_CTX_TLB_GEN_, CPU_IRQS_DISABLED as CPU_IRQS_DISABLED_, CPU_IS_LAZY as CPU_IS_LAZY_,
  CPU_LOADED_MM as CPU_LOADED_MM_, CPU_LOADED_MM_ASID as CPU_LOADED_MM_ASID_, MM_CPUMASK as MM_CPUMASK_, MM_CTX_ID as MM_CTX_ID_, MM_PGD as MM_PGD_,
  MM_STRIDE as MM_STRIDE_, MM_TLB_GEN as MM_TLB_GEN_,
} from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import { ghostCheckRecordedGen, ghostFullFlush } from '../../check/ghost-gen.js';
import { cpumaskSetCpu, cpumaskTestCpu } from '../../sync/cpumask.js';
import type { KernelCtx } from '../ctx.js';
import { ASID_FRESH, ASID_MASK, ASID_NEED_FLUSH, chooseNewAsid, kernPcid } from './asid.js';
import { isGlobalAsid, mmNeedsGlobalAsid } from './global-asid.js';
import { invalidateUserAsid } from './user-pcid.js';
import { speculate } from './speculate.js';
import { EV_SWITCH_MM } from '../../trace/events.js';
import { SITE_SWITCH_MM_WINDOW, kernelPoint } from '../points.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const INIT_MM = INIT_MM_, LOADED_MM_SWITCHING = LOADED_MM_SWITCHING_, CPU_CTX_ID = CPU_CTX_ID_, CPU_CTX_TLB_GEN = CPU_CTX_TLB_GEN_,
  CPU_IRQS_DISABLED = CPU_IRQS_DISABLED_, CPU_IS_LAZY = CPU_IS_LAZY_, CPU_LOADED_MM = CPU_LOADED_MM_, CPU_LOADED_MM_ASID = CPU_LOADED_MM_ASID_,
  MM_CPUMASK = MM_CPUMASK_, MM_CTX_ID = MM_CTX_ID_, MM_PGD = MM_PGD_, MM_STRIDE = MM_STRIDE_, MM_TLB_GEN = MM_TLB_GEN_;

const BUG_SWITCH_MM_NO_FENCE = BUG['switch-mm-no-fence']!;

export class SwitchMmError extends Error {
  override name = 'SwitchMmError';
}

/**
 * load_new_mm_cr3(): CR3 = (pgd, kPCID), NOFLUSH unless the PCID must be
 * flushed; then the user PCID (PTI) is flushed too, at the next return to
 * user mode.
 */
export function loadNewMmCr3(k: KernelCtx, pgd: number, asid: number, needFlush: boolean): void {
  if (needFlush) invalidateUserAsid(k, asid);
  k.mmu.writeCr3(pgd, kernPcid(asid), !needFlush);
}

/**
 * smp_mb(): a full barrier. The store buffer drains (x86 MFENCE, or a locked
 * instruction), and the host gets one too: any Atomics read-modify-write is
 * one; this one changes nothing (an OR with 0 on a word only this CPU writes).
 */
function smpMb(k: KernelCtx): void {
  k.mmu.storeBuffer.drain();
  Atomics.or(k.cpuState, k.cpuAt + CPU_IRQS_DISABLED, 0);
}

/** cpumask_set_cpu(): a LOCK-prefixed RMW, so the store buffer drains before it. */
function setOwnCpumaskBit(k: KernelCtx, maskAt: number): void {
  k.mmu.storeBuffer.drain();
  cpumaskSetCpu(k.mm, maskAt, k.cpu);
}

/**
 * switch_mm_irqs_off(): make `next` this CPU's loaded mm.
 *
 * Same mm (a thread switch, or back from a kernel thread): nothing to do
 * unless we were lazy, in which case flushes were skipped meanwhile and the
 * generation tells whether to flush.
 *
 * Different mm: publish SWITCHING, make sure our bit is in next's cpumask,
 * and only then read next's tlb_gen. That is one half of a store-buffering
 * pair whose other half is flush_tlb_mm_range() bumping tlb_gen and then
 * reading loaded_mm and the cpumask. With the barrier between our store and
 * our load, at least one side sees the other: either we read the new
 * generation and flush here, or the flusher sees SWITCHING (or next) and IPIs
 * us. Without it both can read the old values, and neither flushes.
 *
 * The per-CPU words flushers read racily (is_lazy, loaded_mm) and
 * loaded_mm_asid are plain stores (this_cpu_write), so they go through the
 * CPU's store buffer (hw/store-buffer.ts) and become visible at the next
 * barrier or serializing instruction, exactly as x86 lets them.
 */
export function switchMmIrqsOff(k: KernelCtx, next: number): void {
  const st = k.cpuState;
  const at = k.cpuAt;
  if (st[at + CPU_IRQS_DISABLED] === 0) throw new SwitchMmError(`CPU ${k.cpu}: switch_mm_irqs_off with interrupts enabled`);
  const mm = k.mm;
  const sb = k.mmu.storeBuffer;
  const nextAt = next * MM_STRIDE;
  const prev = sb.load(at + CPU_LOADED_MM);
  const prevAsid = sb.load(at + CPU_LOADED_MM_ASID);
  const wasLazy = sb.load(at + CPU_IS_LAZY) !== 0;
  if (wasLazy) sb.store(at + CPU_IS_LAZY, 0);

  let asid: number;
  let needFlush: boolean;
  let fresh = false;
  let nextTlbGen: number;
  if (prev === next && mmNeedsGlobalAsid(k, next, prevAsid)) {
    // The mm got a global ASID while we ran it under a dynamic one (the
    // transition, global-asid.ts): move to it now, without a flush (every
    // flush of the mm since the assignment reached the global PCID).
    if (!cpumaskTestCpu(mm, nextAt + MM_CPUMASK, k.cpu)) setOwnCpumaskBit(k, nextAt + MM_CPUMASK);
    else smpMb(k);
    nextTlbGen = Atomics.load(mm, nextAt + MM_TLB_GEN);
    asid = chooseNewAsid(k, next, nextTlbGen) & ASID_MASK;
    needFlush = false;
  } else if (prev === next) {
    if (!wasLazy) return;
    // Back from lazy mode. Flushes of this mm skipped us while we were lazy
    // (should_flush_tlb), counting on this check: read tlb_gen only after
    // is_lazy = false is visible, or a flush that read is_lazy == true could
    // also be missed by the read below.
    if (!cpumaskTestCpu(mm, nextAt + MM_CPUMASK, k.cpu)) setOwnCpumaskBit(k, nextAt + MM_CPUMASK);
    else smpMb(k);
    // A global ASID is kept current by the broadcasts, lazy or not.
    if (isGlobalAsid(prevAsid)) return;
    nextTlbGen = Atomics.load(mm, nextAt + MM_TLB_GEN);
    if (st[at + CPU_CTX_TLB_GEN + prevAsid] === nextTlbGen) return;
    asid = prevAsid;
    needFlush = true;
  } else {
    // SWITCHING: from here until loaded_mm = next, this CPU may hold
    // translations of either mm, and a flusher must treat it as running
    // next (should_flush_tlb; injectable as ignore-switching-window).
    sb.store(at + CPU_LOADED_MM, LOADED_MM_SWITCHING);
    if (next !== INIT_MM && !cpumaskTestCpu(mm, nextAt + MM_CPUMASK, k.cpu)) {
      // The atomic OR is the full barrier of the pair.
      setOwnCpumaskBit(k, nextAt + MM_CPUMASK);
    } else if (injected[BUG_SWITCH_MM_NO_FENCE] === 0) {
      // Bit already set (we ran next before, and no flush has trimmed us
      // from its mask since): no atomic RMW above, so an explicit barrier.
      // Without it SWITCHING waits in the store buffer while the tlb_gen
      // load below completes: we read generation 5 and keep our slot for
      // next unflushed; CPU 0 unmaps a page of next, bumps tlb_gen to 6,
      // reads our loaded_mm (still prev: not next, not SWITCHING), skips
      // us and frees the page; our CR3 write lands on the slot still
      // caching it (CVE-2025-40174, fixed by 83b0177a6c48; injectable as
      // switch-mm-no-fence).
      smpMb(k);
    }
    nextTlbGen = Atomics.load(mm, nextAt + MM_TLB_GEN);
    const r = chooseNewAsid(k, next, nextTlbGen);
    asid = r & ASID_MASK;
    needFlush = (r & ASID_NEED_FLUSH) !== 0;
    fresh = (r & ASID_FRESH) !== 0;
  }

  // No CR3 write from the nonsensitive space: leave it first (a lazy
  // kernel thread that kept it, coming back behind by generation).
  k.asi.beforeSwitchMmCr3(k);
  if (needFlush || fresh) {
    // Recording the generation before the CR3 write is safe: interrupts are
    // off, so no flush can run here between the two, and any flush for a
    // later generation finds this one behind and flushes again.
    st[at + CPU_CTX_ID + asid] = mm[nextAt + MM_CTX_ID];
    st[at + CPU_CTX_TLB_GEN + asid] = nextTlbGen;
    // The slot's nonsensitive PCID holds what the sensitive one just lost
    // (or another mm's entries): flush it at its next enter.
    k.asi.slotFlushed(k, asid);
  }
  // Serializing: whatever is still buffered (SWITCHING, when the barrier
  // above was skipped) becomes visible here, not before.
  loadNewMmCr3(k, mm[nextAt + MM_PGD], asid, needFlush);
  if (needFlush) ghostFullFlush(k, asid, next, nextTlbGen);
  if (needFlush || fresh) ghostCheckRecordedGen(k, asid, next);
  k.smp.trace.emit(EV_SWITCH_MM, prev, next, asid);
  // The hardware starts prefetching translations of the new address space
  // at once. This is also what keeps the SWITCHING window open long
  // enough for a concurrent flusher to land in it.
  if (k.switchSpecFills > 0) speculate(k, next, k.switchSpecFills);
  // Inside the window: CR3 is next's, loaded_mm still says SWITCHING. A
  // scheduling point, so a flusher on another CPU can read SWITCHING here
  // (and a serialized hunt can replay ignore-switching-window).
  kernelPoint(SITE_SWITCH_MM_WINDOW);

  sb.store(at + CPU_LOADED_MM_ASID, asid);
  sb.store(at + CPU_LOADED_MM, next);
  // Every caller goes on to a full barrier (context_switch's seq-cst
  // task-state store, the csd unlock after flush_tlb_func, the IRQ-enable
  // of bring-up), so draining here moves nothing that any other CPU could
  // tell apart, and keeps the buffer's scope to this function: the
  // kernel's other reads of these words need no forwarding.
  sb.drain();
}

/**
 * enter_lazy_tlb(): a kernel thread runs on whatever mm was loaded. Its CR3
 * stays (no switch cost), and is_lazy tells flushers they may skip us until
 * we come back (switch_mm_irqs_off catches up by generation), except when
 * page tables are freed: our CR3 still points at them.
 */
export function enterLazyTlb(k: KernelCtx): void {
  if (k.cpuState[k.cpuAt + CPU_LOADED_MM] === INIT_MM) return;
  Atomics.store(k.cpuState, k.cpuAt + CPU_IS_LAZY, 1);
}

/** This CPU's loaded mm (or LOADED_MM_NONE / LOADED_MM_SWITCHING). */
export function loadedMm(k: KernelCtx): number {
  return k.cpuState[k.cpuAt + CPU_LOADED_MM];
}
