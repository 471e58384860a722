// Dynamic ASIDs, as arch/x86/mm/tlb.c choose_new_asid() and
// clear_asid_other(). Each CPU keeps TLB_NR_DYN_ASIDS slots
// {ctx_id, tlb_gen} (cpu.ctxId / cpu.ctxTlbGen); ASID a is tagged with
// kPCID a + 1 in CR3 (PCID 0 is left to code that knows nothing of PCIDs).
// Only the owner CPU reads or writes its slots, with interrupts off.

import {
  MM_CTX_ID as MM_CTX_ID_, MM_GLOBAL_ASID as MM_GLOBAL_ASID_, MM_STRIDE as MM_STRIDE_, CPU_CTX_ID as CPU_CTX_ID_,
  CPU_CTX_TLB_GEN as CPU_CTX_TLB_GEN_, CPU_INVALIDATE_OTHER as CPU_INVALIDATE_OTHER_, CPU_LOADED_MM_ASID as CPU_LOADED_MM_ASID_,
  CPU_NEXT_ASID as CPU_NEXT_ASID_,
} from '../../../native-layout/fields.js';
import { TLB_NR_DYN_ASIDS as TLB_NR_DYN_ASIDS_ } from '../../../native-layout/bits.js';
import { BUG, injected } from '../../check/bugs.js';
import type { KernelCtx } from '../ctx.js';
import { genBefore } from './gen.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MM_CTX_ID = MM_CTX_ID_, MM_GLOBAL_ASID = MM_GLOBAL_ASID_, MM_STRIDE = MM_STRIDE_, CPU_CTX_ID = CPU_CTX_ID_,
  CPU_CTX_TLB_GEN = CPU_CTX_TLB_GEN_, CPU_INVALIDATE_OTHER = CPU_INVALIDATE_OTHER_, CPU_LOADED_MM_ASID = CPU_LOADED_MM_ASID_,
  CPU_NEXT_ASID = CPU_NEXT_ASID_, TLB_NR_DYN_ASIDS = TLB_NR_DYN_ASIDS_;

const BUG_STALE_CTX_AFTER_ASID_EVICT = BUG['stale-ctx-after-asid-evict']!;

/** chooseNewAsid's result: the ASID in the low byte ... */
export const ASID_MASK = 0xff;
/** ... this bit when the new PCID's old entries must be dropped ... */
export const ASID_NEED_FLUSH = 0x100;
/** ... and this one when the slot was taken from another mm (its ctx must be rewritten). */
export const ASID_FRESH = 0x200;

/** kern_pcid(): the PCID that tags ASID asid's kernel-visible entries. */
export function kernPcid(asid: number): number {
  return asid + 1;
}

/**
 * clear_asid_other(): after a kernel flush that could only reach the
 * current PCID (INVLPG under PTI/ASI), every other slot is forgotten, so
 * its next use takes a fresh slot and with it a full flush.
 */
function clearAsidOther(k: KernelCtx): void {
  const st = k.cpuState;
  const at = k.cpuAt;
  const current = st[at + CPU_LOADED_MM_ASID];
  for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
    if (asid === current) continue;
    st[at + CPU_CTX_ID + asid] = 0;
  }
  st[at + CPU_INVALIDATE_OTHER] = 0;
}

/**
 * choose_new_asid(): the slot this CPU will run mm `next` in, and whether
 * the switch must flush it. Returns asid | ASID_NEED_FLUSH | ASID_FRESH.
 *
 * - An mm with a global ASID runs under it, without a flush.
 * - A slot still tagged with next's ctx_id is reused; it needs a flush only
 *   if its recorded generation is behind `nextTlbGen` (the mm changed its
 *   page tables while this CPU ran something else, and the flushes of that
 *   time skipped us).
 * - Otherwise the round-robin cursor evicts a slot. That always flushes: the
 *   PCID still holds the previous owner's translations, and ctx ids are never
 *   reused, so nothing else would ever tell us they are foreign (injectable
 *   as stale-ctx-after-asid-evict: the evicted mm's entries then hit for the
 *   new one).
 */
export function chooseNewAsid(k: KernelCtx, next: number, nextTlbGen: number): number {
  const st = k.cpuState;
  const at = k.cpuAt;
  // A global ASID (global-asid.ts) is never flushed here: every flush of
  // its mm reached its PCID on every CPU, this one included, whether it
  // ran the mm or not (choose_new_asid's mm_global_asid branch).
  // (mm_global_asid read here directly: global-asid.ts pulls in the
  // INVLPGB path, and the checkers import this file.)
  if (k.globalAsids) {
    const g = Atomics.load(k.mm, next * MM_STRIDE + MM_GLOBAL_ASID);
    if (g !== 0) return g;
  }
  if (st[at + CPU_INVALIDATE_OTHER] !== 0) clearAsidOther(k);
  const ctxId = k.mm[next * MM_STRIDE + MM_CTX_ID];
  for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
    if (st[at + CPU_CTX_ID + asid] !== ctxId) continue;
    return genBefore(st[at + CPU_CTX_TLB_GEN + asid], nextTlbGen) ? asid | ASID_NEED_FLUSH : asid;
  }
  // The cursor wraps to 0 and restarts at 1, like the kernel's
  // this_cpu_add_return(next_asid, 1) - 1 with its reset.
  let asid = st[at + CPU_NEXT_ASID];
  st[at + CPU_NEXT_ASID] = asid + 1;
  if (asid >= TLB_NR_DYN_ASIDS) {
    asid = 0;
    st[at + CPU_NEXT_ASID] = 1;
  }
  return injected[BUG_STALE_CTX_AFTER_ASID_EVICT] !== 0 ? asid | ASID_FRESH : asid | ASID_FRESH | ASID_NEED_FLUSH;
}
