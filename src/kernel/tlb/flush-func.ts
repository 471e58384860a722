// The receiving side of a user-address flush, as arch/x86/mm/tlb.c
// flush_tlb_func() and should_flush_tlb(). The request travels in the csd's
// four info words (the kernel passes a pointer to the initiator's per-CPU
// flush_tlb_info; four words carry the same fields by value):
//   info0: mm id (bits 0..15, FLUSH_MM_NONE for a batch flush with no mm),
//          initiating CPU (16..22), FLUSH_GEN_VALID, FLUSH_TRIM_CPUMASK
//   info1: first page (vpn), info2: page after the last, or FLUSH_ALL
//   info3: new_tlb_gen (meaningful with FLUSH_GEN_VALID)

import { INIT_MM as INIT_MM_, LOADED_MM_SWITCHING as LOADED_MM_SWITCHING_ } from '../../../native-layout/bits.js';
import { C as C_ } from '../../../native-layout/counters.js';
import {
  CPU_CTX_TLB_GEN as CPU_CTX_TLB_GEN_, CPU_IRQS_DISABLED as CPU_IRQS_DISABLED_, CPU_IS_LAZY as CPU_IS_LAZY_, CPU_LOADED_MM as CPU_LOADED_MM_,
  CPU_LOADED_MM_ASID as CPU_LOADED_MM_ASID_, CPU_STRIDE as CPU_STRIDE_, MM_CPUMASK as MM_CPUMASK_, MM_STRIDE as MM_STRIDE_,
  MM_TLB_GEN as MM_TLB_GEN_,
} from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import { auditLoadedPcidAtFlush } from '../../check/flush-audit.js';
import { ghostCheckRecordedGen, ghostFullFlush, ghostPartialFlush } from '../../check/ghost-gen.js';
import { cpumaskClearCpu } from '../../sync/cpumask.js';
import { type KernelCtx, kernelOf } from '../ctx.js';
import type { SmpCtx } from '../smp.js';
import { genAtLeast } from './gen.js';
import { switchMmIrqsOff } from './switch-mm.js';
import { isGlobalAsid, mmNeedsGlobalAsid } from './global-asid.js';
import { flushTlbLocal, flushTlbOneUser } from './user-pcid.js';
import { EV_FLUSH_TLB } from '../../trace/events.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const INIT_MM = INIT_MM_, LOADED_MM_SWITCHING = LOADED_MM_SWITCHING_, C = C_, CPU_CTX_TLB_GEN = CPU_CTX_TLB_GEN_,
  CPU_IRQS_DISABLED = CPU_IRQS_DISABLED_, CPU_IS_LAZY = CPU_IS_LAZY_, CPU_LOADED_MM = CPU_LOADED_MM_, CPU_LOADED_MM_ASID = CPU_LOADED_MM_ASID_,
  CPU_STRIDE = CPU_STRIDE_, MM_CPUMASK = MM_CPUMASK_, MM_STRIDE = MM_STRIDE_, MM_TLB_GEN = MM_TLB_GEN_;

export const FLUSH_MM_MASK = 0xffff;
/** No mm: a batched flush (arch_tlbbatch_flush) of whatever each CPU has loaded. */
export const FLUSH_MM_NONE = 0xffff;
export const FLUSH_INITIATOR_SHIFT = 16;
export const FLUSH_INITIATOR_MASK = 0x7f;
export const FLUSH_GEN_VALID = 1 << 24;
export const FLUSH_TRIM_CPUMASK = 1 << 25;
/** info2 of a flush of everything (TLB_FLUSH_ALL). */
export const FLUSH_ALL = -1;

const PAGE = 4096;
const BUG_PARTIAL_FLUSH_OUT_OF_ORDER = BUG['partial-flush-out-of-order']!;
const BUG_IGNORE_SWITCHING_WINDOW = BUG['ignore-switching-window']!;
const C_FLUSHES_LOCAL = C.flushesLocal;
const C_FLUSHES_REMOTE = C.flushesRemote;
const C_FLUSHES_FULL = C.flushesFull;

export function flushInfo0(mm: number, initiator: number, flags: number): number {
  return (mm & FLUSH_MM_MASK) | ((initiator & FLUSH_INITIATOR_MASK) << FLUSH_INITIATOR_SHIFT) | flags;
}

/** The IPI entry point: find this CPU's kernel context and run the flush. */
export function flushTlbFuncIpi(ctx: SmpCtx, info0: number, info1: number, info2: number, info3: number): void {
  flushTlbFunc(kernelOf(ctx.cpu), info0, info1, info2, info3);
}

/**
 * flush_tlb_func(): bring this CPU's TLB up to date with the mm it runs, as
 * far as the request requires. Interrupts are off (IPI, or the initiator's
 * local call), so loaded_mm cannot change under us.
 *
 * Three generations decide: new_gen (what the initiator's change made the
 * mm's generation), local_gen (how far this CPU's slot is known to be
 * flushed) and mm_gen (the mm's generation now, which may be newer still).
 */
export function flushTlbFunc(k: KernelCtx, info0: number, start: number, end: number, newGen: number): void {
  const st = k.cpuState;
  const at = k.cpuAt;
  const mmId = info0 & FLUSH_MM_MASK;
  const local = ((info0 >>> FLUSH_INITIATOR_SHIFT) & FLUSH_INITIATOR_MASK) === k.cpu;
  const loaded = st[at + CPU_LOADED_MM];
  k.counters[k.countersAt + (local ? C_FLUSHES_LOCAL : C_FLUSHES_REMOTE)] += 1;

  if (mmId !== FLUSH_MM_NONE && mmId !== loaded) {
    // We run another mm now (mm_cpumask is cleared lazily): leave the mask
    // so later flushes of that mm stop interrupting us. Our slot for it, if
    // any, stays behind by generation and is flushed when we switch back.
    cpumaskClearCpu(k.mm, mmId * MM_STRIDE + MM_CPUMASK, k.cpu);
    return;
  }
  if (loaded === INIT_MM || loaded < 0) return;
  // native_flush_tlb_local() under ASI: the flush below reads and rewrites
  // CR3 and records the sensitive PCID as flushed, so it must run there.
  k.asi.beforeFlush(k);
  if (st[at + CPU_IS_LAZY] !== 0) {
    // Only page-table frees reach a lazy CPU. Rather than flush, stop using
    // the mm altogether: our CR3 still points at the tables being freed,
    // and the next user task catches up through switch_mm anyway.
    switchMmIrqsOff(k, INIT_MM);
    return;
  }
  // The mm got a global ASID and we still run it under a dynamic one
  // (finish_asid_transition IPIs such CPUs): move to the global one. From
  // then on the broadcasts keep it current, and this request's broadcast
  // already reached it.
  if (mmNeedsGlobalAsid(k, loaded, st[at + CPU_LOADED_MM_ASID]!)) switchMmIrqsOff(k, loaded);
  if (isGlobalAsid(st[at + CPU_LOADED_MM_ASID]!)) return;
  // We run the mm: nothing we cache of it may lead to a freed frame yet,
  // whatever this request still asks us to drop.
  auditLoadedPcidAtFlush(k, start, end === FLUSH_ALL ? -1 : end);
  const asid = st[at + CPU_LOADED_MM_ASID];
  const localGen = st[at + CPU_CTX_TLB_GEN + asid];
  const genValid = (info0 & FLUSH_GEN_VALID) !== 0;
  // Already flushed at least this far (a later request got here first).
  if (genValid && genAtLeast(localGen, newGen)) return;
  // Read as late as possible: the flush below covers every change made
  // up to this read, whichever request it came with.
  const mmGen = Atomics.load(k.mm, loaded * MM_STRIDE + MM_TLB_GEN);
  if (mmGen === localGen) return;

  // A partial flush is enough only when this request is the one and only
  // change we have not flushed (new == local + 1) and no later one is in
  // the mm yet (new == mm). Requests arrive out of order: two flushes, gen 2
  // (a full flush: a big munmap) and gen 3 (one page), and the gen-3 IPI
  // arrives first. INVLPG-ing its one page and recording mm_gen = 3 would
  // claim gen 2's flush was done too; when gen 2's IPI comes it sees
  // local >= 2 and returns, and gen 2's pages stay cached after being freed
  // (injectable as partial-flush-out-of-order).
  const partial = genValid && end !== FLUSH_ALL && newGen === mmGen
    && (newGen === ((localGen + 1) | 0) || injected[BUG_PARTIAL_FLUSH_OUT_OF_ORDER] !== 0);
  if (partial) {
    for (let vpn = start; vpn < end; vpn++) flushTlbOneUser(k, vpn * PAGE);
    ghostPartialFlush(k, asid, newGen);
  } else {
    // flush_tlb_local(): rewriting CR3 without NOFLUSH drops the current
    // PCID's entries and its paging-structure caches (and, under PTI,
    // marks the user PCID).
    flushTlbLocal(k);
    ghostFullFlush(k, asid, loaded, mmGen);
    k.counters[k.countersAt + C_FLUSHES_FULL] += 1;
  }
  // mm_gen as read before the flush: changes made after that read may not
  // be covered, and their own requests will find us behind.
  st[at + CPU_CTX_TLB_GEN + asid] = mmGen;
  ghostCheckRecordedGen(k, asid, loaded);
  k.smp.trace.emit(EV_FLUSH_TLB, loaded, mmGen, partial ? 0 : 1);
}

/**
 * should_flush_tlb(): the sender's filter over mm_cpumask, on racy remote
 * state. loaded_mm is read first, then is_lazy (the switcher writes them in
 * the other order), so a CPU seen non-lazy is at least as new as the mm
 * seen loaded.
 */
export function shouldFlushTlb(cpu: number, info0: number): boolean {
  const st = condCpuState;
  const at = cpu * CPU_STRIDE;
  const loaded = Atomics.load(st, at + CPU_LOADED_MM);
  if (Atomics.load(st, at + CPU_IS_LAZY) !== 0) return false;
  const mmId = info0 & FLUSH_MM_MASK;
  if (mmId === FLUSH_MM_NONE) return true;
  // Between its CR3 load and loaded_mm = next, a switching CPU may already
  // cache next's translations with next's old generation recorded. Skip it
  // and it keeps them: CPU 1 switches to mm A and reads tlb_gen 5; CPU 0
  // clears a PTE of A, bumps tlb_gen to 6, sees CPU 1 SWITCHING, skips it
  // and frees the page; CPU 1 finishes the switch and hits its entry
  // (fea4e317f9e7; injectable as ignore-switching-window).
  if (loaded === LOADED_MM_SWITCHING) return injected[BUG_IGNORE_SWITCHING_WINDOW] === 0;
  if (loaded === mmId) return true;
  // In the mask but running another mm: IPI it now and then so that its
  // flush_tlb_func drops the stale bit.
  return (info0 & FLUSH_TRIM_CPUMASK) !== 0;
}

/** The cond function's view of the cpu region (one machine per thread at a time). */
let condCpuState: Int32Array = new Int32Array(0);

export function shouldFlushTlbCond(cpu: number, info0: number): boolean {
  return shouldFlushTlb(cpu, info0);
}

/** Points should_flush_tlb at a machine's cpu region. */
export function setFlushCondMachine(cpuState: Int32Array): void {
  condCpuState = cpuState;
}

/** Guard for the callers that must not run with interrupts off (they send IPIs). */
export function irqsOff(k: KernelCtx): boolean {
  return k.cpuState[k.cpuAt + CPU_IRQS_DISABLED] !== 0;
}
