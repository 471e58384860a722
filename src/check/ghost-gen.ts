// Ghost state for the flush generations (issue 11 item 6): "a CPU's
// recorded flush generation never runs ahead of the flushes it actually
// performed". The kernel keeps, per CPU and ASID slot, the mm generation
// it believes that PCID is flushed up to (arch/x86/mm/tlb.c,
// cpu_tlbstate.ctxs[asid].tlb_gen); every later flush decision trusts it.
// This file keeps a second copy that only the flushes themselves advance,
// next to the hardware operation (the CR3 write, the INVLPGs), and checks
// the kernel's copy against it each time the kernel writes it:
//
// - a full flush of the slot's PCID covers every change of the mm made
//   before it, so the ghost takes the mm's ctx_id and its tlb_gen read just
//   before the flush (a change bumps tlb_gen after its PTE write, so every
//   generation up to that read has its PTEs in place);
// - a partial flush covers one change only: the ghost moves from g to
//   newGen only when newGen is g + 1 (the request carries that change's
//   whole range), otherwise it stays;
// - when the kernel records generation G for the slot of ctx C, the ghost
//   must be at C with a generation >= G.
//
// What it catches without a race landing: a partial flush recorded as
// covering an older full one (partial-flush-out-of-order, whenever the two
// requests arrive out of order), a slot handed to another mm without a
// flush (stale-ctx-after-asid-evict, on the switch itself). Not modelled:
// the nonsensitive PCIDs of ASI (asiTlbGen) and PTI's user PCIDs.
//
// The kernel never reads these words, and they cost a few plain loads and
// stores on flush and switch paths, nothing on the TLB-hit path.

import { CPU_CTX_ID, CPU_CTX_TLB_GEN, CPU_GHOST_CTX_ID, CPU_GHOST_TLB_GEN, MM_CTX_ID, MM_STRIDE, MM_TLB_GEN } from '../../native-layout/fields.js';
import type { KernelCtx } from '../kernel/ctx.js';
import { genAtLeast } from '../kernel/tlb/gen.js';
import { V_FLUSH_GEN_AHEAD, reportViolation } from './oracle.js';

/**
 * The slot's PCID was just fully flushed while it held mm `mm`
 * (flush_tlb_local, or the CR3 write without NOFLUSH of switch_mm); `gen`
 * is the mm's tlb_gen read before that flush. Call right after the
 * hardware flush, never before: ephemeral-audit.ts reads these words from
 * other CPUs to tell a slot whose entries are really current from one the
 * kernel has already recorded as current while its flush is still under way
 * (switch_mm writes ctxs[asid] before its CR3 write).
 */
export function ghostFullFlush(k: KernelCtx, asid: number, mm: number, gen: number): void {
  const st = k.cpuState;
  Atomics.store(st, k.cpuAt + CPU_GHOST_CTX_ID + asid, k.mm[mm * MM_STRIDE + MM_CTX_ID]!);
  Atomics.store(st, k.cpuAt + CPU_GHOST_TLB_GEN + asid, gen);
}

/** The slot's PCID had every page of change `newGen` invalidated (flush_tlb_func's partial flush). */
export function ghostPartialFlush(k: KernelCtx, asid: number, newGen: number): void {
  const at = k.cpuAt + CPU_GHOST_TLB_GEN + asid;
  if (k.cpuState[at] === ((newGen - 1) | 0)) Atomics.store(k.cpuState, at, newGen);
}

/**
 * The kernel just wrote the slot's ctx_id / tlb_gen: check the claim
 * against what was really flushed. `mm` names the mm in the record.
 */
export function ghostCheckRecordedGen(k: KernelCtx, asid: number, mm: number): void {
  const st = k.cpuState;
  const at = k.cpuAt;
  const recorded = st[at + CPU_CTX_TLB_GEN + asid]!;
  const sameCtx = st[at + CPU_GHOST_CTX_ID + asid] === st[at + CPU_CTX_ID + asid];
  const flushed = st[at + CPU_GHOST_TLB_GEN + asid]!;
  if (sameCtx && genAtLeast(flushed, recorded)) return;
  reportViolation(k.views, k.cpu, V_FLUSH_GEN_AHEAD, asid, mm, recorded, sameCtx ? flushed : -1, -1, -1);
}
