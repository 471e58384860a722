// The TLB flush of a change to an mshare host's page tables, and the host
// mm's mmu notifier that carries it.
//
// The problem: a PTE of the range is cached by CPUs that ran any client
// (their PCIDs tag the entries with the client's ASID), and by secondary
// MMUs bound to a client. The host mm never runs: flush_tlb_mm_range(host)
// reads an empty mm_cpumask and interrupts nobody. Freeing the frame after
// that is a use after free on every client CPU (injectable as
// mshare-host-cpumask-only: the host flush alone).
//
// The posted series (v1..v3) hooks the host mm with an mmu notifier whose
// arch_invalidate_secondary_tlbs callback (mmu_notifier_ops.invalidate_range
// in v1) runs flush_tlb_all(): correct, and it interrupts every CPU of the
// machine for every PTE change in the range. Two cheaper strategies, each
// selectable (--option strategy=...):
//   union:      bump every client's tlb_gen, then IPI the union of the
//               clients' mm_cpumasks; each CPU flushes the PCID it runs
//               (mshareFlushFunc). CPUs that ran a client earlier and kept
//               its PCID catch up by generation when they switch back
//               (choose_new_asid sees the slot behind). The bump is what
//               makes that work: skip it and they reload the PCID with its
//               stale entries and no flush (mshare-no-tlbgen-bump);
//   per-client: flush_tlb_mm_range() on each client in turn: every
//               client's own generation and cpumask logic, one round of
//               IPIs per client (a CPU in several masks is interrupted
//               several times).
//
// The review finding (Jann Horn, 2025-05-30): the host notifier flushes
// CPU TLBs, but the notifiers registered on the CLIENT mms (KVM, an IOMMU
// doing SVA) never hear of the change, so a device keeps translating to the
// freed frame (injectable as mshare-client-notifier-skipped). The proposed
// fix, built here: the host notifier walks the region's clients and fires
// each one's notifiers with the same range (the range is at the same
// address in every client: region.ts).

import { INIT_MM, LOADED_MM_SWITCHING } from '../../../native-layout/bits.js';
import { C } from '../../../native-layout/counters.js';
import { CPU_CTX_TLB_GEN, CPU_IS_LAZY, CPU_LOADED_MM, CPU_LOADED_MM_ASID, CPU_STRIDE, MM_CPUMASK, MM_STRIDE, MM_TLB_GEN } from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import { auditLoadedPcidAtFlush } from '../../check/flush-audit.js';
import { cpumaskClear, cpumaskOr } from '../../sync/cpumask.js';
import { type KernelCtx, kernelOf } from '../ctx.js';
import {
  MN_OPS_MSHARE_HOST, type MmuNotifierOps, mmuNotifierArchInvalidateSecondaryTlbs, mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart, registerMmuNotifierOps,
} from '../mmu_notifier/notifier.js';
import { SCF_RUN_LOCAL, SCF_WAIT, type SmpCtx, registerIpiFunc, smpCallFunctionManyCond } from '../smp.js';
import { FLUSH_MM_NONE, flushInfo0 } from '../tlb/flush-func.js';
import { flushTlbAll } from '../tlb/flush-kernel.js';
import { PAGE_SHIFT_4K, flushTlbMmRange, incMmTlbGen } from '../tlb/flush-mm.js';
import { SITE_FLUSH_DONE, SITE_FLUSH_ENTER, kernelPoint } from '../points.js';
import { mshareClient, mshareClientCount, mshareHost, mshareIsClient, mshareStrategy } from './region.js';
import { isGlobalAsid } from '../tlb/global-asid.js';
import { flushTlbLocal } from '../tlb/user-pcid.js';

/** flush_tlb_all() from the host notifier: the posted series. */
export const MSHARE_FLUSH_ALL = 0;
/** One IPI round to the union of the clients' cpumasks, generations bumped first. */
export const MSHARE_FLUSH_UNION = 1;
/** flush_tlb_mm_range() on every client. */
export const MSHARE_FLUSH_PER_CLIENT = 2;
/** Option values (--option strategy=NAME), by strategy number. */
export const MSHARE_STRATEGY_NAMES = ['flush-all', 'union', 'per-client'] as const;
export type MshareStrategyName = (typeof MSHARE_STRATEGY_NAMES)[number];

/** IPI function id of the union strategy's per-CPU flush (kernel ids are 1..31: smp.ts, tlb/ipi-ids.ts). */
export const IPI_MSHARE_FLUSH = 5;

const BUG_HOST_CPUMASK_ONLY = BUG['mshare-host-cpumask-only']!;
const BUG_NO_TLBGEN_BUMP = BUG['mshare-no-tlbgen-bump']!;
const BUG_CLIENT_NOTIFIER_SKIPPED = BUG['mshare-client-notifier-skipped']!;

/** The union of the clients' cpumasks (this thread's scratch). */
const unionMask = new Int32Array(2);

/**
 * The union strategy's flush on one CPU, for region r (info1): if it runs a
 * client of r (not lazily), flush that PCID and record the client's
 * generation as read before the flush, as flush_tlb_func does for a full
 * flush. A CPU running anything else has nothing of the range under its
 * current PCID; its other PCIDs are behind by generation.
 */
export function mshareFlushFunc(ctx: SmpCtx, info0: number, r: number, start: number, end: number): void {
  const k = kernelOf(ctx.cpu);
  const st = k.cpuState;
  const at = k.cpuAt;
  const local = ((info0 >>> 16) & 0x7f) === k.cpu;
  k.counters[k.countersAt + (local ? C.flushesLocal : C.flushesRemote)] += 1;
  const loaded = st[at + CPU_LOADED_MM]!;
  if (loaded < 0 || loaded === INIT_MM || !mshareIsClient(k, r, loaded)) return;
  // A lazy CPU runs a kernel thread: no user access until switch_mm, which
  // finds the client's slot behind by generation and flushes it. No table
  // is freed here, so its paging-structure caches stay valid.
  if (st[at + CPU_IS_LAZY] !== 0) return;
  k.asi.beforeFlush(k);
  auditLoadedPcidAtFlush(k, start, end);
  const asid = st[at + CPU_LOADED_MM_ASID]!;
  const mmGen = Atomics.load(k.mm, loaded * MM_STRIDE + MM_TLB_GEN);
  flushTlbLocal(k);
  k.counters[k.countersAt + C.flushesFull] += 1;
  // A global ASID has no per-CPU generation (the broadcasts keep it current).
  if (!isGlobalAsid(asid)) st[at + CPU_CTX_TLB_GEN + asid] = mmGen;
}

/**
 * The union strategy: every client's generation first, then their
 * cpumasks. The order is the switch_mm pairing of flush_tlb_mm_range: a
 * CPU switching to a client sets its cpumask bit, then reads tlb_gen; we
 * bump tlb_gen, then read the bits. Either it sees the new generation (and
 * flushes at the switch) or we see its bit (and IPI it).
 */
function flushUnion(k: KernelCtx, r: number, start: number, end: number): void {
  const n = mshareClientCount(k, r);
  if (injected[BUG_NO_TLBGEN_BUMP] === 0) for (let i = 0; i < n; i++) incMmTlbGen(k, mshareClient(k, r, i));
  cpumaskClear(unionMask, 0);
  for (let i = 0; i < n; i++) cpumaskOr(unionMask, 0, unionMask, 0, k.mm, mshareClient(k, r, i) * MM_STRIDE + MM_CPUMASK);
  condK = k;
  smpCallFunctionManyCond(k.smp, unionMask, 0, IPI_MSHARE_FLUSH, flushInfo0(FLUSH_MM_NONE, k.cpu, 0), r, start, end,
    SCF_WAIT | SCF_RUN_LOCAL, mshareShouldFlush);
}

/** The initiator's context for mshareShouldFlush (one flush at a time per thread). */
let condK: KernelCtx | null = null;

/**
 * should_flush_tlb() for the union strategy, on racy remote state: a CPU
 * of the union is interrupted if it runs a client of region r (info1) now,
 * or is between its CR3 load and loaded_mm = next (it may already cache
 * the client's entries under the old generation: the window of
 * fea4e317f9e7). Lazy CPUs and CPUs running anything else have no client
 * PCID loaded and catch up by generation at their next switch.
 */
function mshareShouldFlush(cpu: number, _info0: number, r: number): boolean {
  const k = condK!;
  const st = k.cpuState;
  const at = cpu * CPU_STRIDE;
  const loaded = Atomics.load(st, at + CPU_LOADED_MM);
  if (Atomics.load(st, at + CPU_IS_LAZY) !== 0) return false;
  if (loaded === LOADED_MM_SWITCHING) return true;
  return loaded > INIT_MM && mshareIsClient(k, r, loaded);
}

/** The CPU-TLB half of a host change of pages [start, end), by the region's strategy. */
function flushClientsTlbs(k: KernelCtx, r: number, start: number, end: number): void {
  const strategy = mshareStrategy(k, r);
  if (strategy === MSHARE_FLUSH_ALL) {
    flushTlbAll(k);
  } else if (strategy === MSHARE_FLUSH_UNION) {
    flushUnion(k, r, start, end);
  } else {
    const n = mshareClientCount(k, r);
    for (let i = 0; i < n; i++) flushTlbMmRange(k, mshareClient(k, r, i), start, end, PAGE_SHIFT_4K, false);
  }
}

/** Fires the notifiers of every client of r (the fix), unless the review bug is injected. */
function clientsNotifiersSkipped(): boolean {
  return injected[BUG_CLIENT_NOTIFIER_SKIPPED] !== 0;
}

/** The host mm's notifier (the series' mshare mmu notifier, with the client fan-out of the fix). */
const mshareHostOps: MmuNotifierOps = {
  invalidateRangeStart(k, _host, r, start, end) {
    if (clientsNotifiersSkipped()) return;
    const n = mshareClientCount(k, r);
    for (let i = 0; i < n; i++) mmuNotifierInvalidateRangeStart(k, mshareClient(k, r, i), start, end);
  },
  invalidateSecondaryTlbs(k, _host, r, start, end) {
    // The host's own flush already ran (and reached nobody). Without the
    // notifier's flush that is all: the frames go back while every client
    // CPU still translates to them (injectable as mshare-host-cpumask-only).
    if (injected[BUG_HOST_CPUMASK_ONLY] === 0) flushClientsTlbs(k, r, start, end);
    if (clientsNotifiersSkipped()) return;
    const n = mshareClientCount(k, r);
    for (let i = 0; i < n; i++) mmuNotifierArchInvalidateSecondaryTlbs(k, mshareClient(k, r, i), start, end);
  },
  invalidateRangeEnd(k, _host, r, start, end) {
    if (clientsNotifiersSkipped()) return;
    const n = mshareClientCount(k, r);
    for (let i = 0; i < n; i++) mmuNotifierInvalidateRangeEnd(k, mshareClient(k, r, i), start, end);
  },
};

/** Registers the host notifier ops and the union strategy's IPI function in this thread. */
export function mshareInitThread(): void {
  registerMmuNotifierOps(MN_OPS_MSHARE_HOST, mshareHostOps);
  registerIpiFunc(IPI_MSHARE_FLUSH, mshareFlushFunc);
}

/**
 * The TLB flush of a change to pages [start, end) of region r's host
 * tables, made after the PTE writes and before any frame is freed: as x86's
 * flush_tlb_mm_range(host), which flushes the host's cpumask (empty) and
 * then calls arch_invalidate_secondary_tlbs on the host's notifiers, where
 * mshare does the real work. Counts the flush and the CPUs its IPIs reached.
 */
export function mshareFlushRange(k: KernelCtx, r: number, start: number, end: number): void {
  kernelPoint(SITE_FLUSH_ENTER);
  const host = mshareHost(k, r);
  const c = k.counters;
  const sentAt = k.countersAt + C.ipisSent;
  const sent0 = c[sentAt]!;
  flushTlbMmRange(k, host, start, end, PAGE_SHIFT_4K, false);
  mmuNotifierArchInvalidateSecondaryTlbs(k, host, start, end);
  c[k.countersAt + C.mshareFlushes] += 1;
  c[k.countersAt + C.mshareCpusInterrupted] += c[sentAt]! - sent0;
  kernelPoint(SITE_FLUSH_DONE);
}
