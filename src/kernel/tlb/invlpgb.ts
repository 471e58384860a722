// The INVLPGB flush variant (`--variant invlpgb`), as arch/x86/mm/tlb.c's
// broadcast path: the flush posts one INVLPGB per remote CPU
// (src/hw/invlpgb.ts) instead of IPIs, flushes locally, then waits in
// TLBSYNC, with preemption disabled throughout: TLBSYNC waits only for the
// INVLPGBs of the CPU it runs on.
//
// ASIDs. Without ASI, an mm found running on several CPUs gets a global
// ASID (global-asid.ts): one PCID on every CPU, so the broadcast names that
// PCID directly, and under PTI its user PCID too (invlpgbFlushGlobalAsid,
// broadcast_tlb_flush's INVLPGBs), and every CPU drops the range whatever
// it runs; flush-mm.ts sends IPIs as well while the mm is in transition.
// Mms without a global ASID are flushed by IPIs there.
//
// With ASI (`asi-on+invlpgb`), and for designs whose own flush policy
// broadcasts, there are no global ASIDs: the broadcast of an mm on >= 3
// CPUs carries its ctx_id instead, and each CPU applying it resolves it
// through its own dynamic ASID slots to the PCIDs it runs (or ran) the mm
// under (installInvlpgbTarget's resolver), the sensitive and nonsensitive
// one of each slot. Every CPU that still holds a slot for the mm drops the
// range; a CPU without one has no entries of the mm and takes a fresh slot,
// with a flush, when it switches in. Only the owner reads its slots, at
// apply time, so there is no race with its switch_mm. Such a broadcast does
// not advance the targets' ctx tlb_gen (no flush_tlb_func runs there): a
// target is left "behind" and its next switch-in or IPI flush does a full
// flush it did not need: correct, if pessimistic.

import { C as C_ } from '../../../native-layout/counters.js';
import {
  CONTROL_STOP as CONTROL_STOP_, CPU_CTX_ID as CPU_CTX_ID_, CPU_PREEMPT_COUNT as CPU_PREEMPT_COUNT_, MM_CTX_ID as MM_CTX_ID_,
  MM_STRIDE as MM_STRIDE_,
} from '../../../native-layout/fields.js';
import { TLB_NR_DYN_ASIDS as TLB_NR_DYN_ASIDS_ } from '../../../native-layout/bits.js';
import { BUG, injected } from '../../check/bugs.js';
import {
  INVLPGB_ALL, INVLPGB_ANY_PCID, INVLPGB_PCID, INVLPGB_STRIDE_2M, INVLPGB_USER_PCID, type InvlpgbPort,
} from '../../hw/invlpgb.js';
import { spinHook } from '../../sync/hook.js';
import { parkTimeoutMs } from '../../sync/wake.js';
import { apicCancelHalt, apicHalt, apicPrepareHalt, ipiPending } from '../../hw/apic.js';
import type { KernelCtx } from '../ctx.js';
import { RunStopped, STOP_ABORT } from '../smp.js';
import { asiPcid } from '../asi/pcid.js';
import { kernPcid } from './asid.js';
import { FLUSH_ALL } from './flush-func.js';
import { EV_INVLPGB, EV_TLBSYNC } from '../../trace/events.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const C = C_, CONTROL_STOP = CONTROL_STOP_, CPU_CTX_ID = CPU_CTX_ID_, CPU_PREEMPT_COUNT = CPU_PREEMPT_COUNT_, MM_CTX_ID = MM_CTX_ID_,
  MM_STRIDE = MM_STRIDE_, TLB_NR_DYN_ASIDS = TLB_NR_DYN_ASIDS_;

/** A broadcast is used for mms whose cpumask holds at least this many CPUs. */
export const INVLPGB_MIN_CPUS = 3;

const C_INVLPGB = C.invlpgb;
const BUG_INVLPGB_TLBSYNC_MIGRATED = BUG['invlpgb-tlbsync-migrated']!;
const PAGE_SHIFT_2M = 21;
/** Spins of a TLBSYNC (or a full slot) before the CPU sleeps on its doorbell. */
const SPINS_BEFORE_PARK = 100;

/** Installs k's ASID table as its Mmu's INVLPGB resolver, and the apply hook at its poll points. */
export function installInvlpgbTarget(k: KernelCtx): void {
  const st = k.cpuState;
  const at = k.cpuAt;
  k.mmu.setInvlpgbResolver((ctxId, out) => {
    let n = 0;
    if (ctxId === 0) return 0;
    for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
      if (st[at + CPU_CTX_ID + asid] !== ctxId) continue;
      // Both PCIDs of the slot: the sensitive one and (ASI) the nonsensitive one.
      out[n++] = kernPcid(asid);
      out[n++] = asiPcid(asid);
    }
    return n;
  });
  const mmu = k.mmu;
  mmu.invlpgbDelay = k.irqPollAccesses;
  k.smp.invlpgbApply = () => mmu.applyInvlpgb();
}

/**
 * Waits (answering IPIs and INVLPGBs through the spin hook) until cond()
 * holds. Not for hot paths: callers pass a closure.
 */
export function spinUntil(k: KernelCtx, cond: () => boolean): void {
  const control = k.smp.control;
  const ipi = k.smp.ipi;
  const me = k.cpu;
  let spins = 0;
  while (!cond()) {
    spinHook();
    // Our own poll point too: two CPUs each waiting for the other's
    // requests must keep applying them (the hook may be the serialized
    // engine's, which polls nothing).
    k.mmu.applyInvlpgb();
    if (Atomics.load(control, CONTROL_STOP) === STOP_ABORT) throw new RunStopped();
    if (++spins > SPINS_BEFORE_PARK) {
      // Simulated CPUs outnumber host cores: sleep on our doorbell, rung
      // by an IPI to us, a request for us, or a target acking ours.
      const seen = apicPrepareHalt(ipi, me);
      if (!cond() && !ipiPending(ipi, me) && !k.mmu.invlpgbPort.pending()) apicHalt(ipi, me, seen, parkTimeoutMs());
      else apicCancelHalt(ipi, me);
    }
  }
}

/**
 * INVLPGB to every other CPU for mm's pages [start, end) (vpns, 4 KiB units,
 * at the stride), or all of the mm when end is FLUSH_ALL. Asynchronous: the
 * targets apply it before their next access; tlbsync() waits for that.
 */
export function invlpgbBroadcast(k: KernelCtx, mm: number, start: number, end: number, strideShift: number): void {
  const tag = k.mm[mm * MM_STRIDE + MM_CTX_ID];
  let flags = 0;
  let pages = 0;
  if (end === FLUSH_ALL) {
    flags = INVLPGB_ALL;
  } else if (strideShift >= PAGE_SHIFT_2M) {
    flags = INVLPGB_STRIDE_2M;
    pages = Math.ceil((end - start) / 512);
  } else {
    pages = end - start;
  }
  k.smp.trace.emit(EV_INVLPGB, mm, start, end === FLUSH_ALL ? -1 : pages);
  postToOtherCpus(k, tag, start, pages, flags);
}

/**
 * broadcast_tlb_flush()'s INVLPGBs for an mm with a global ASID: pages
 * [start, end) (or all, with FLUSH_ALL) of the global kPCID on every CPU,
 * this one included, and under PTI of its user PCID too
 * (invlpgb_flush_user_nr_nosync of kern_pcid and user_pcid). Not waited
 * for: the caller finishes the ASID transition, then TLBSYNCs.
 */
export function invlpgbFlushGlobalAsid(k: KernelCtx, mm: number, asid: number, start: number, end: number, strideShift: number): void {
  let flags = INVLPGB_PCID | (k.ptiUser ? INVLPGB_USER_PCID : 0);
  let pages = 0;
  if (end === FLUSH_ALL) {
    flags |= INVLPGB_ALL;
  } else if (strideShift >= PAGE_SHIFT_2M) {
    flags |= INVLPGB_STRIDE_2M;
    pages = Math.ceil((end - start) / 512);
  } else {
    pages = end - start;
  }
  const pcid = kernPcid(asid);
  k.smp.trace.emit(EV_INVLPGB, mm, start, end === FLUSH_ALL ? -1 : pages);
  postToOtherCpus(k, pcid, start, pages, flags);
  k.mmu.invlpgbSelf(start, pages, flags, pcid);
}

/** One INVLPGB: a request in every other CPU's slot from this one. */
function postToOtherCpus(k: KernelCtx, tag: number, vpn: number, pages: number, flags: number): void {
  const port = k.mmu.invlpgbPort;
  for (let t = 0; t < k.cpus; t++) {
    if (t === k.cpu) continue;
    if (!port.slotFree(t)) spinUntil(k, () => port.slotFree(t));
    port.post(t, tag, vpn, pages, flags);
  }
  k.counters[k.countersAt + C_INVLPGB] += 1;
}

/**
 * An INVLPGB without a PCID, here and on every other CPU, then TLBSYNC:
 * pages [vpn, vpn + pages) of every address space (flags
 * INVLPGB_INCLUDE_GLOBAL for kernel mappings), or with INVLPGB_ALL every
 * entry (non-global ones only, unless INVLPGB_INCLUDE_GLOBAL). The
 * instruction reaches the issuing CPU's TLB too; here that is applied by
 * hand. Preemption stays off until TLBSYNC (it waits for this CPU's
 * requests only).
 */
export function invlpgbFlushAnyPcid(k: KernelCtx, vpn: number, pages: number, flags: number): void {
  const st = k.cpuState;
  st[k.cpuAt + CPU_PREEMPT_COUNT]++;
  k.smp.trace.emit(EV_INVLPGB, -1, vpn, (flags & INVLPGB_ALL) !== 0 ? -1 : pages);
  postToOtherCpus(k, 0, vpn, pages, flags | INVLPGB_ANY_PCID);
  k.mmu.invlpgbSelf(vpn, pages, flags | INVLPGB_ANY_PCID);
  tlbsync(k);
  st[k.cpuAt + CPU_PREEMPT_COUNT]--;
}

/**
 * TLBSYNC: waits until every INVLPGB this CPU issued has been applied. With
 * invlpgb-tlbsync-migrated injected it runs as if the task had migrated
 * between the INVLPGB and the TLBSYNC: it waits for the next CPU's requests,
 * not its own, and returns while the targets may still hold the entries.
 */
export function tlbsync(k: KernelCtx): void {
  const port = k.mmu.invlpgbPort;
  k.smp.trace.emit(EV_TLBSYNC, 0, 0, 0);
  if (injected[BUG_INVLPGB_TLBSYNC_MIGRATED] !== 0) {
    const other = (k.cpu + 1) % k.cpus;
    spinUntil(k, () => port.inFlightFrom(other) === 0);
    return;
  }
  if (!port.synced()) spinUntil(k, () => port.synced());
}

/**
 * Whether the mask holds >= INVLPGB_MIN_CPUS CPUs: the built-in INVLPGB
 * flush policy's choice (design/builtins.ts FLUSH_INVLPGB), as
 * flush_tlb_mm_range() on AMD, where a flush of an mm on one or two other
 * CPUs is still cheaper by IPI.
 */
export function invlpgbMaskWorthIt(k: KernelCtx, mask: Int32Array, maskAt: number): boolean {
  let n = 0;
  const words = (k.cpus + 31) >>> 5;
  for (let w = 0; w < words; w++) {
    let x = mask[maskAt + w]!;
    while (x !== 0) {
      x &= x - 1;
      n++;
    }
  }
  return n >= INVLPGB_MIN_CPUS;
}

export type { InvlpgbPort };
