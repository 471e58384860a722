// The isolation oracle for the ephemeral maps (SEMANTICS.md §9 item 2,
// issue 7 item 6(c)): at the moment a process loses logical access to a
// frame (its page-cache page is evicted or truncated, or it closes the
// file), and after the mitigation flush that must accompany it
// (kernel/ephmap/mitigation.ts), no CPU running that process may still
// translate an address of the process's mm-local region (ephmap slots,
// mermap windows) to the frame, architecturally or speculatively.
//
// Which entries count: those a CPU could still use without flushing
// first. That is its loaded PCID if it runs the mm (not lazily), and every
// other PCID whose ASID slot still belongs to the mm at the mm's current
// generation: switch_mm would load it with NOFLUSH (the same rule as the
// end-of-run check's liveSlot). A slot behind the generation flushes before
// the mm runs there again, which is exactly what the mitigation flush's
// generation bump buys for CPUs that ran the mm earlier. The entry found is
// reported with the CPU that holds it (cpu) and the CPU whose slot the
// address belongs to (slotCpu): usually another CPU, which is the
// speculative case the mitigation flush exists for.
//
// Reads other CPUs' state and TLB arrays racily (as the end-of-run check
// does), so three races must not read as leaks:
// - switch_mm records a slot as current (ctxs[asid]) before its flushing
//   CR3 write, so for a moment the slot looks usable while it still holds
//   the previous owner's entries: a slot counts only once the ghost
//   generation (check/ghost-gen.ts, written after the hardware flush)
//   agrees;
// - loaded_mm and the CR3 PCID are two words: a CPU may switch away between
//   our two loads and we would pair mm's loaded_mm with the next mm's PCID,
//   so loaded_mm is read again after the PCID and must not have moved;
// - the CPU may hand a slot to another mm (and fill it) while we scan: an
//   entry found is reported only if its PCID is still usable for mm once
//   it was read.
// On the eviction path the frame's last reference is gone, so no entry for
// it can appear while we look; at the last close the page stays cached and
// other processes may map it, under their own PCIDs, which the last two
// rules keep apart from mm's.

import { TLB_NR_DYN_ASIDS, TLB_GLOBAL, TLB_PCID_MASK, TLB_SPEC, TLB_VALID, TLB_VPNHI_MASK, TLB_VPNHI_SHIFT } from '../../native-layout/bits.js';
import {
  CPU_CR3_PCID, CPU_CTX_ID, CPU_CTX_TLB_GEN, CPU_GHOST_CTX_ID, CPU_GHOST_TLB_GEN, CPU_INVALIDATE_OTHER, CPU_IS_LAZY, CPU_LOADED_MM, CPU_LOADED_MM_ASID,
  CPU_STRIDE, MM_CTX_ID, MM_STRIDE, MM_TLB_GEN, TLB_FILL_GEN, TLB_META, TLB_PFN, TLB_STRIDE, TLB_VPN_LO,
} from '../../native-layout/fields.js';
import type { KernelCtx } from '../kernel/ctx.js';
import { inMmLocalRegion, windowCpuOf } from '../kernel/ephmap/region.js';
import { kernPcid } from '../kernel/tlb/asid.js';
import { V_ISOLATION, reportViolation } from './oracle.js';

const PAGE = 4096;
const VPN_SPLIT = 2 ** 32;

/**
 * Reports (V_ISOLATION) the first CPU running mm whose TLB translates an
 * mm-local-region address to pfn. Returns whether it found one.
 */
export function auditEphemeralLeak(k: KernelCtx, mm: number, pfn: number): boolean {
  const st = k.cpuState;
  const t = k.views.tlb4k;
  const perCpu = t.length / k.cpus;
  const ctxId = k.mm[mm * MM_STRIDE + MM_CTX_ID]!;
  const gen = Atomics.load(k.mm, mm * MM_STRIDE + MM_TLB_GEN);
  const pcids = PCIDS;
  for (let c = 0; c < k.cpus; c++) {
    const n = usablePcids(st, c, mm, ctxId, gen, pcids);
    if (n === 0) continue;
    for (let e = c * perCpu; e < (c + 1) * perCpu; e += TLB_STRIDE) {
      const meta = t[e + TLB_META]!;
      if ((meta & TLB_VALID) === 0 || (meta & TLB_GLOBAL) !== 0 || t[e + TLB_PFN] !== pfn) continue;
      const pcid = meta & TLB_PCID_MASK;
      if (!includes(pcids, n, pcid)) continue;
      const vpn = (t[e + TLB_VPN_LO]! >>> 0) + ((meta & TLB_VPNHI_MASK) >>> TLB_VPNHI_SHIFT) * VPN_SPLIT;
      const va = vpn * PAGE;
      if (!inMmLocalRegion(va, k.cpus)) continue;
      // Still mm's after we read the entry (third race above)?
      if (!includes(RECHECK, usablePcids(st, c, mm, ctxId, gen, RECHECK), pcid)) continue;
      const w = k.mmu.walker;
      // fillGen: the entry's; frameGen: 1 if it was a speculative fill
      // never used architecturally, 0 if some access used it.
      reportViolation(k.views, c, V_ISOLATION, va, pfn, t[e + TLB_FILL_GEN]!, (meta & TLB_SPEC) !== 0 ? 1 : 0,
        w.task, w.op, windowCpuOf(va, k.cpus));
      return true;
    }
  }
  return false;
}

function includes(a: Int32Array, n: number, v: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] === v) return true;
  return false;
}

/** Scratch for usablePcids: the loaded PCID and one per ASID slot. */
const PCIDS = new Int32Array(1 + TLB_NR_DYN_ASIDS);
/** The same, for the second look at a CPU once an entry was found. */
const RECHECK = new Int32Array(1 + TLB_NR_DYN_ASIDS);

/**
 * Writes to out the PCIDs CPU c could use for mm without a flush first;
 * returns how many. A slot's nonsensitive PCID counts only while loaded:
 * after a flush of the mm, the next asi_enter flushes it (as posted every
 * enter does; with +noflush it is tracked by tlb_gen and flushed when
 * behind), so entries left under it by a CPU that since exited ASI are
 * dropped before any use. A slot counts only when both the kernel's record
 * (ctxs[asid]) and the ghost generation, which only a completed flush
 * advances, say it holds mm at the current generation.
 */
function usablePcids(st: Int32Array, c: number, mm: number, ctxId: number, gen: number, out: Int32Array): number {
  const at = c * CPU_STRIDE;
  let n = 0;
  if (Atomics.load(st, at + CPU_LOADED_MM) === mm && Atomics.load(st, at + CPU_IS_LAZY) === 0) {
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
