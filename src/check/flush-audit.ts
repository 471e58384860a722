// The oracle at flush time (SEMANTICS.md §9 item 6, sampled): when a flush
// request reaches a CPU that runs the mm (loaded, not lazy), none of that
// mm's translations in its TLB may lead to a free or reallocated frame.
//
// Why that holds in a correct kernel: an initiator frees a page only after
// every CPU that may cache it has acknowledged its flush, and a CPU
// acknowledges only after flush_tlb_func ran. So any page this CPU still
// caches is either covered by a request still queued here (whose initiator
// is waiting for us, page unfreed) or was unmapped by a generation this CPU
// already flushed. The exceptions are CPUs that were skipped: lazy ones, and
// ones running another mm; both catch up by generation in switch_mm before
// touching user memory, and both are excluded by the callers (a lazy CPU
// returns before the audit; another mm's PCID is not the loaded one).
//
// What breaks it: an acknowledgement sent before the flush (ack-before-flush),
// an initiator that does not wait (no-wait-for-ack), a frame freed before the
// flush (free-before-flush). The inline stale-hit check (mmu.ts) needs the
// CPU to *use* the stale entry before its flush lands; a CPU in an IPI
// handler never does, so without this audit an early ack is invisible even
// though the window it opens is real (a speculative access, or a handler
// preempted on a kernel with IRQ threads, can use it).
//
// Cost: one TLB probe per page of a partial flush; a pass over this CPU's
// 4 KiB array for a full one. Flushes are not the hot path.

import {
  FRAME_STATE_MASK, FS_FREE_HEAD, TLB_GEN_PERMANENT, FS_FREE_TAIL, FS_PCP, TLB_GLOBAL, TLB_PCID_MASK, TLB_VALID, TLB_VPNHI_MASK,
  TLB_VPNHI_SHIFT,
} from '../../native-layout/bits.js';
import { FRAME_STRIDE, FR_CONTENT_GEN, FR_FLAGS, TLB_FILL_GEN, TLB_META, TLB_PFN, TLB_STRIDE, TLB_VPN_LO } from '../../native-layout/fields.js';
import type { KernelCtx } from '../kernel/ctx.js';
import { V_STALE_AT_FLUSH, reportViolation } from './oracle.js';

const PAGE = 4096;
const VPN_SPLIT = 2 ** 32;

/** Is the frame on a free list (buddy or per-CPU)? */
function isFree(frame: Int32Array, pfn: number): boolean {
  const s = frame[pfn * FRAME_STRIDE + FR_FLAGS]! & FRAME_STATE_MASK;
  return s === FS_FREE_HEAD || s === FS_FREE_TAIL || s === FS_PCP;
}

/** Checks one 4 KiB entry (word index e of the TLB array); reports and returns true if stale. */
function auditEntry(k: KernelCtx, t: Int32Array, e: number): boolean {
  const pfn = t[e + TLB_PFN]!;
  const frame = k.frame;
  if (pfn < 0 || pfn * FRAME_STRIDE >= frame.length) return false;
  const fillGen = t[e + TLB_FILL_GEN]!;
  if (fillGen === TLB_GEN_PERMANENT) return false;
  const gen = frame[pfn * FRAME_STRIDE + FR_CONTENT_GEN]!;
  if (fillGen === gen && !isFree(frame, pfn)) return false;
  const meta = t[e + TLB_META]!;
  const vpn = (t[e + TLB_VPN_LO]! >>> 0) + ((meta & TLB_VPNHI_MASK) >>> TLB_VPNHI_SHIFT) * VPN_SPLIT;
  const w = k.mmu.walker;
  reportViolation(k.views, k.cpu, V_STALE_AT_FLUSH, vpn * PAGE, pfn, fillGen, gen, w.task, w.op);
  return true;
}

/**
 * Audits the loaded PCID's 4 KiB entries for pages [start, end), or all of
 * them when end < 0 (a full flush). Call before the flush drops them.
 */
export function auditLoadedPcidAtFlush(k: KernelCtx, start: number, end: number): void {
  const mmu = k.mmu;
  const tlb = mmu.tlb;
  const t = tlb.t4;
  const pcid = mmu.cr3Pcid;
  if (end >= 0 && end - start <= 64) {
    for (let vpn = start; vpn < end; vpn++) {
      const e = tlb.lookup4k(vpn % VPN_SPLIT | 0, Math.floor(vpn / VPN_SPLIT), pcid);
      if (e >= 0 && (t[e + TLB_META]! & TLB_GLOBAL) === 0 && auditEntry(k, t, e)) return;
    }
    return;
  }
  for (let e = tlb.base4k; e < tlb.end4k; e += TLB_STRIDE) {
    const meta = t[e + TLB_META]!;
    if ((meta & TLB_VALID) === 0 || (meta & TLB_GLOBAL) !== 0 || (meta & TLB_PCID_MASK) !== pcid) continue;
    if (end >= 0) {
      const vpn = (t[e + TLB_VPN_LO]! >>> 0) + ((meta & TLB_VPNHI_MASK) >>> TLB_VPNHI_SHIFT) * VPN_SPLIT;
      if (vpn < start || vpn >= end) continue;
    }
    if (auditEntry(k, t, e)) return;
  }
}
