// The initiating side of a user-address flush, as arch/x86/mm/tlb.c
// flush_tlb_mm_range(), native_flush_tlb_multi() and the wrappers
// flush_tlb_mm(), flush_tlb_range(), flush_tlb_page().
//
// Ranges are in pages (vpn), end exclusive; FLUSH_ALL as end means the whole
// address space.

import { C as C_ } from '../../../native-layout/counters.js';
import {
  CPU_LOADED_MM as CPU_LOADED_MM_, CPU_PREEMPT_COUNT as CPU_PREEMPT_COUNT_, MM_CPUMASK as MM_CPUMASK_,
  MM_NEXT_TRIM_CPUMASK as MM_NEXT_TRIM_CPUMASK_, MM_STRIDE as MM_STRIDE_, MM_TLB_GEN as MM_TLB_GEN_,
} from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import { cpumaskFirst, cpumaskNext } from '../../sync/cpumask.js';
import type { KernelCtx } from '../ctx.js';
import { SCF_RUN_LOCAL, SCF_WAIT, localIrqRestore, localIrqSave, smpCallFunctionManyCond } from '../smp.js';
import {
  FLUSH_ALL, FLUSH_GEN_VALID, FLUSH_TRIM_CPUMASK, flushInfo0, flushTlbFunc, irqsOff, shouldFlushTlbCond,
} from './flush-func.js';
import { genNext } from './gen.js';
import { IPI_FLUSH_TLB_FUNC } from './ipi-ids.js';
import { invlpgbBroadcast, invlpgbFlushGlobalAsid, tlbsync } from './invlpgb.js';
import { considerGlobalAsid, finishAsidTransition, mmGlobalAsid, mmInAsidTransition } from './global-asid.js';
import { SITE_FLUSH_DONE, SITE_FLUSH_ENTER, kernelPoint } from '../points.js';
import { kernelClockMs } from '../../sync/hook.js';
import { EV_FLUSH_RANGE } from '../../trace/events.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const C = C_, CPU_LOADED_MM = CPU_LOADED_MM_, CPU_PREEMPT_COUNT = CPU_PREEMPT_COUNT_, MM_CPUMASK = MM_CPUMASK_,
  MM_NEXT_TRIM_CPUMASK = MM_NEXT_TRIM_CPUMASK_, MM_STRIDE = MM_STRIDE_, MM_TLB_GEN = MM_TLB_GEN_;

/**
 * tlb_single_page_flush_ceiling: above this many pages (after the stride
 * shift) a range flush becomes a full flush. The kernel's estimate: an
 * INVLPG costs about as much as refilling ~1/33 of the TLB.
 */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;
/** Interval at which flushes may IPI cpumask CPUs running another mm (HZ). */
export const TRIM_CPUMASK_INTERVAL_MS = 1000;
export const PAGE_SHIFT_4K = 12;

const BUG_CEILING_PARTIAL_FLUSH = BUG['ceiling-partial-flush']!;
const BUG_SKIP_LAZY_ON_PAGETABLE_FREE = BUG['skip-lazy-on-pagetable-free']!;
const BUG_FLUSH_RANGE_FREED_TABLES_FALSE = BUG['flush-range-freed-tables-false']!;
const C_IPIS_SENT = C.ipisSent;

export class FlushError extends Error {
  override name = 'FlushError';
}

/**
 * inc_mm_tlb_gen(). The generation must move only after the PTE writes it
 * covers are visible: a CPU that reads it (switching in, or flushing for
 * another request) records it as done. Bump first, and CPU 2 can record the
 * new generation, refill the old PTE we have not cleared yet, and then skip
 * our IPI because it is "already there" (injectable as
 * gen-bump-before-pte-write). The atomic add is the full barrier that
 * orders the PTE stores before it, and the cpumask reads after it.
 */
export function incMmTlbGen(k: KernelCtx, mm: number): number {
  return genNext(Atomics.add(k.mm, mm * MM_STRIDE + MM_TLB_GEN, 1));
}

/**
 * should_trim_cpumask(): at most once per interval per mm, a flush also IPIs
 * CPUs of the mask that run another mm, whose flush_tlb_func then leaves
 * the mask. Racy like the kernel's (two initiators may both trim).
 */
function shouldTrimCpumask(k: KernelCtx, mm: number): boolean {
  const at = mm * MM_STRIDE + MM_NEXT_TRIM_CPUMASK;
  const now = (kernelClockMs() - k.smp.epochMs) | 0;
  const next = k.mm[at];
  if (((now - next) | 0) < 0) return false;
  k.mm[at] = (now + TRIM_CPUMASK_INTERVAL_MS) | 0;
  return true;
}

/** Is any CPU other than this one in the mask? (cpumask_any_but) */
function otherCpuIn(mask: Int32Array, at: number, me: number): boolean {
  for (let c = cpumaskFirst(mask, at); c >= 0; c = cpumaskNext(mask, at, c)) if (c !== me) return true;
  return false;
}

/**
 * flush_tlb_mm_range(): every CPU that may cache translations of mm for
 * pages [start, end) drops them before this returns. The caller has
 * finished the PTE changes (they must be visible before the generation
 * moves: see incMmTlbGen) and frees nothing until we return.
 *
 * freedTables: page tables were unhooked too. Then lazy CPUs must be
 * reached as well: their CR3 still points at the tables, and their
 * paging-structure caches and speculative walks can follow a freed table
 * that is reused as anything.
 *
 * preGen / mask are for the injected bugs that move the generation bump or
 * the cpumask read; ordinary callers pass neither.
 */
export function flushTlbMmRange(
  k: KernelCtx, mm: number, start: number, end: number, strideShift: number, freedTables: boolean,
  preGen = 0, preGenValid = false, mask: Int32Array | null = null, maskAt = 0,
): void {
  k.smp.lockdep.checkWaitForAcks(k.cpu);
  if (irqsOff(k)) throw new FlushError(`CPU ${k.cpu}: flush_tlb_mm_range with interrupts disabled`);
  kernelPoint(SITE_FLUSH_ENTER);
  const st = k.cpuState;
  st[k.cpuAt + CPU_PREEMPT_COUNT]++;
  const newGen = preGenValid ? preGen : incMmTlbGen(k, mm);
  k.smp.trace.emit(EV_FLUSH_RANGE, mm, start, end === FLUSH_ALL ? -1 : end - start);

  if (end !== FLUSH_ALL) {
    const pages = Math.floor((end - start) / 2 ** (strideShift - PAGE_SHIFT_4K));
    // The ceiling is the design's (FlushPolicy.ceilingPages; Linux: 33).
    const ceiling = k.flush.ceilingPages;
    if (pages > ceiling) {
      if (injected[BUG_CEILING_PARTIAL_FLUSH] !== 0) {
        // The bug: the range is clipped to the ceiling instead of becoming
        // a full flush, so pages past it stay cached.
        end = start + ceiling * 2 ** (strideShift - PAGE_SHIFT_4K);
      } else {
        start = 0;
        end = FLUSH_ALL;
      }
    }
  }
  let flags = FLUSH_GEN_VALID;
  const mmAt = mm * MM_STRIDE;
  // mm_cpumask (and, in should_flush_tlb, loaded_mm) are read only now,
  // after the bump: the other half of switch_mm's store-buffering pair. A
  // CPU switching in sets its bit, then reads tlb_gen; we bumped, then read
  // the bit: one of us sees the other. A mask read before the PTEs were
  // even cleared misses a CPU that switches in meanwhile, fills its TLB
  // from the old PTEs and gets no IPI (injectable as missed-cpumask).
  const cpumask = mask ?? k.mm;
  const cpumaskAt = mask !== null ? maskAt : mmAt + MM_CPUMASK;
  k.lastFlushBroadcast = false;
  const globalAsid = k.globalAsids ? mmGlobalAsid(k, mm) : 0;
  if (globalAsid !== 0) {
    broadcastTlbFlush(k, mm, globalAsid, start, end, strideShift, newGen, flags);
  } else if (k.globalAsids) {
    // No global ASID (yet): IPIs, as without INVLPGB, and maybe one for
    // next time. An mm whose ASID was just assigned may be in transition
    // while this flush read 0: its CPUs are all still on dynamic ASIDs
    // reached by these IPIs, or read the ASID after our generation bump.
    if (otherCpuIn(cpumask, cpumaskAt, k.cpu)) {
      if (shouldTrimCpumask(k, mm)) flags |= FLUSH_TRIM_CPUMASK;
      flushTlbMulti(k, cpumask, cpumaskAt, flushInfo0(mm, k.cpu, flags), start, end, newGen,
        freedTables || mmInAsidTransition(k, mm));
      considerGlobalAsid(k, mm);
    } else if (st[k.cpuAt + CPU_LOADED_MM] === mm) {
      const saved = localIrqSave(k.smp);
      flushTlbFunc(k, flushInfo0(mm, k.cpu, flags), start, end, newGen);
      localIrqRestore(k.smp, saved);
    }
  } else if (otherCpuIn(cpumask, cpumaskAt, k.cpu) && k.flush.useBroadcast(k, cpumask, cpumaskAt)) {
    // Broadcast (invlpgb.ts): INVLPGB to every other CPU, our own flush,
    // then TLBSYNC, all with preemption disabled (raised above): TLBSYNC
    // must run on the CPU that issued the INVLPGBs.
    invlpgbBroadcast(k, mm, start, end, strideShift);
    k.lastFlushBroadcast = true;
    if (st[k.cpuAt + CPU_LOADED_MM] === mm) {
      const saved = localIrqSave(k.smp);
      flushTlbFunc(k, flushInfo0(mm, k.cpu, flags), start, end, newGen);
      localIrqRestore(k.smp, saved);
    }
    tlbsync(k);
  } else if (otherCpuIn(cpumask, cpumaskAt, k.cpu)) {
    if (shouldTrimCpumask(k, mm)) flags |= FLUSH_TRIM_CPUMASK;
    flushTlbMulti(k, cpumask, cpumaskAt, flushInfo0(mm, k.cpu, flags), start, end, newGen, freedTables);
  } else if (st[k.cpuAt + CPU_LOADED_MM] === mm) {
    const saved = localIrqSave(k.smp);
    flushTlbFunc(k, flushInfo0(mm, k.cpu, flags), start, end, newGen);
    localIrqRestore(k.smp, saved);
  }
  st[k.cpuAt + CPU_PREEMPT_COUNT]--;
  kernelPoint(SITE_FLUSH_DONE);
}

/**
 * broadcast_tlb_flush(): the mm runs under one global ASID on every CPU,
 * so one INVLPGB of its PCID (and of its PTI user PCID) reaches every CPU
 * that may cache it, this one included, running it or not: no IPI, no
 * generation bookkeeping. While the transition lasts, CPUs still running
 * it under a dynamic ASID are not reached by that, and get the IPI flush
 * as well (finish_asid_transition). Then TLBSYNC, on this CPU (preemption
 * is off in the caller).
 */
function broadcastTlbFlush(
  k: KernelCtx, mm: number, asid: number, start: number, end: number, strideShift: number, newGen: number, flags: number,
): void {
  invlpgbFlushGlobalAsid(k, mm, asid, start, end, strideShift);
  if (finishAsidTransition(k, mm)) {
    flushTlbMulti(k, k.mm, mm * MM_STRIDE + MM_CPUMASK, flushInfo0(mm, k.cpu, flags | FLUSH_TRIM_CPUMASK), start, end, newGen, true);
  }
  tlbsync(k);
  k.lastFlushBroadcast = true;
}

/**
 * native_flush_tlb_multi(): flush_tlb_func on the mask's CPUs, this one
 * included when it is in the mask, waiting for all of them. Page-table
 * frees go to every CPU of the mask unfiltered (lazy ones included, which
 * then leave the mm); other flushes only to CPUs should_flush_tlb picks.
 */
export function flushTlbMulti(
  k: KernelCtx, mask: Int32Array, maskAt: number, info0: number, start: number, end: number, newGen: number,
  freedTables: boolean,
): void {
  const filter = !freedTables || injected[BUG_SKIP_LAZY_ON_PAGETABLE_FREE] !== 0;
  smpCallFunctionManyCond(k.smp, mask, maskAt, IPI_FLUSH_TLB_FUNC, info0, start, end, newGen,
    SCF_WAIT | SCF_RUN_LOCAL, filter ? shouldFlushTlbCond : null);
}

/** flush_tlb_mm(): everything, as a page-table change (freed_tables). */
export function flushTlbMm(k: KernelCtx, mm: number): void {
  flushTlbMmRange(k, mm, 0, FLUSH_ALL, PAGE_SHIFT_4K, true);
}

/**
 * flush_tlb_range(): a VMA range. Since the CVE-2025-22045 fix it always
 * says freed_tables: khugepaged's collapse frees a page table through it,
 * and a lazy CPU skipped then keeps walking the freed table (injectable as
 * flush-range-freed-tables-false).
 */
export function flushTlbRange(k: KernelCtx, mm: number, start: number, end: number): void {
  flushTlbMmRange(k, mm, start, end, PAGE_SHIFT_4K, injected[BUG_FLUSH_RANGE_FREED_TABLES_FALSE] === 0);
}

/** flush_tlb_page(): one page, no tables freed. */
export function flushTlbPage(k: KernelCtx, mm: number, vpn: number): void {
  flushTlbMmRange(k, mm, vpn, vpn + 1, PAGE_SHIFT_4K, false);
}

/** IPIs this CPU sent so far (tests). */
export function ipisSent(k: KernelCtx): number {
  return k.counters[k.countersAt + C_IPIS_SENT]!;
}
