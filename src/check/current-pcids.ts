// Which PCIDs another CPU could use for an mm without flushing first, read
// racily by the checks that scan other CPUs' TLBs and paging-structure
// caches (ephemeral-audit.ts, ghost-table.ts). Read these before the
// entries, and again after one is found: a CPU may finish a flush, or hand
// a slot to another mm, between the two reads.

import { TLB_NR_DYN_ASIDS } from '../../native-layout/bits.js';
import {
  CPU_CR3_PCID, CPU_CTX_ID, CPU_CTX_TLB_GEN, CPU_GHOST_CTX_ID, CPU_GHOST_TLB_GEN, CPU_INVALIDATE_OTHER, CPU_IS_LAZY,
  CPU_LOADED_MM, CPU_LOADED_MM_ASID, CPU_STRIDE,
} from '../../native-layout/fields.js';
import { kernPcid } from '../kernel/tlb/asid.js';

/** Room for the loaded PCID and one per ASID slot. */
export const CURRENT_PCIDS_MAX = 1 + TLB_NR_DYN_ASIDS;

/**
 * Writes to out the PCIDs CPU c could use for mm (ctx id ctxId, tlb_gen
 * gen) before any flush of it; returns how many.
 * - its loaded PCID while mm is loaded (loaded_mm read again around the
 *   PCID, so a switch between the two reads is not paired with mm); a lazy
 *   CPU's only if `lazyCounts` (its CR3 still points at mm's tables, which
 *   the hardware walks speculatively);
 * - each ASID slot whose kernel record (ctxs[asid]) and ghost generation
 *   (ghost-gen.ts, advanced only by a completed flush) both say mm at gen:
 *   switch_mm records a slot before its flushing CR3 write, the ghost only
 *   after it. A pending invalidate_other drops every slot but the loaded one.
 * A slot's nonsensitive (ASI) PCID counts only while loaded: the next
 * asi_enter flushes it otherwise.
 */
export function currentPcids(
  st: Int32Array, c: number, mm: number, ctxId: number, gen: number, lazyCounts: boolean, out: Int32Array,
): number {
  const at = c * CPU_STRIDE;
  let n = 0;
  if (Atomics.load(st, at + CPU_LOADED_MM) === mm && (lazyCounts || Atomics.load(st, at + CPU_IS_LAZY) === 0)) {
    const pcid = Atomics.load(st, at + CPU_CR3_PCID);
    if (Atomics.load(st, at + CPU_LOADED_MM) === mm) out[n++] = pcid;
  }
  const loadedAsid = Atomics.load(st, at + CPU_LOADED_MM_ASID);
  const invalidateOther = Atomics.load(st, at + CPU_INVALIDATE_OTHER) !== 0;
  for (let a = 0; a < TLB_NR_DYN_ASIDS; a++) {
    if (Atomics.load(st, at + CPU_CTX_ID + a) !== ctxId) continue;
    if (invalidateOther && a !== loadedAsid) continue;
    if (((Atomics.load(st, at + CPU_CTX_TLB_GEN + a) - gen) | 0) < 0) continue;
    if (Atomics.load(st, at + CPU_GHOST_CTX_ID + a) !== ctxId) continue;
    if (((Atomics.load(st, at + CPU_GHOST_TLB_GEN + a) - gen) | 0) < 0) continue;
    out[n++] = kernPcid(a);
  }
  return n;
}

/** Whether v is among the first n entries of a. */
export function pcidIn(a: Int32Array, n: number, v: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] === v) return true;
  return false;
}
