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

import { TLB_GLOBAL, TLB_PCID_MASK, TLB_SPEC, TLB_VALID, TLB_VPNHI_MASK, TLB_VPNHI_SHIFT } from '../../native-layout/bits.js';
import {
  MM_CTX_ID, MM_STRIDE, MM_TLB_GEN, TLB_FILL_GEN, TLB_META, TLB_PFN, TLB_STRIDE, TLB_VPN_LO,
} from '../../native-layout/fields.js';
import type { KernelCtx } from '../kernel/ctx.js';
import { inMmLocalRegion, windowCpuOf } from '../kernel/ephmap/region.js';
import { CURRENT_PCIDS_MAX, currentPcids, pcidIn } from './current-pcids.js';
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
    const n = currentPcids(st, c, mm, ctxId, gen, false, pcids);
    if (n === 0) continue;
    for (let e = c * perCpu; e < (c + 1) * perCpu; e += TLB_STRIDE) {
      const meta = t[e + TLB_META]!;
      if ((meta & TLB_VALID) === 0 || (meta & TLB_GLOBAL) !== 0 || t[e + TLB_PFN] !== pfn) continue;
      const pcid = meta & TLB_PCID_MASK;
      if (!pcidIn(pcids, n, pcid)) continue;
      const vpn = (t[e + TLB_VPN_LO]! >>> 0) + ((meta & TLB_VPNHI_MASK) >>> TLB_VPNHI_SHIFT) * VPN_SPLIT;
      const va = vpn * PAGE;
      if (!inMmLocalRegion(va, k.cpus)) continue;
      // Still mm's after we read the entry (third race above)?
      if (!pcidIn(RECHECK, currentPcids(st, c, mm, ctxId, gen, false, RECHECK), pcid)) continue;
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

/** Scratch for currentPcids, and for the second look at a CPU once an entry was found. */
const PCIDS = new Int32Array(CURRENT_PCIDS_MAX);
const RECHECK = new Int32Array(CURRENT_PCIDS_MAX);
