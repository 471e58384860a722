// The isolation oracle for the ephemeral maps (SEMANTICS.md §9 item 2,
// issue 7 item 6(c)): at the moment a process loses logical access to a
// frame (its page-cache page is evicted or truncated, or it closes the
// file), and after the mitigation flush that must accompany it
// (kernel/ephmap/mitigation.ts), no CPU running that process may still
// translate an address of the process's mm-local region (ephmap slots,
// mermap windows) to the frame, architecturally or speculatively.
//
// Which CPUs are checked, and why the others may keep an entry for now:
// a CPU whose loaded mm is this one and which is not lazy. A CPU running
// another mm holds such an entry only under a PCID it is not using; the
// mitigation flush bumped the mm's generation, so it flushes that PCID
// before it runs the mm again (switch_mm). A lazy CPU was reached by the
// flush (flush_tlb_mm frees-tables style reaches lazy CPUs) and left the
// mm. The entry found is reported with the CPU that holds it (cpu) and the
// CPU whose slot the address belongs to (slotCpu): usually another CPU,
// which is the speculative case the mitigation flush exists for.
//
// Reads other CPUs' TLB arrays racily (as the end-of-run check does): a
// frame whose last reference is gone cannot be mapped again, so no entry
// for it can appear while we look; one may only disappear.

import { LOADED_MM_NONE, TLB_GLOBAL, TLB_PCID_MASK, TLB_SPEC, TLB_VALID, TLB_VPNHI_MASK, TLB_VPNHI_SHIFT } from '../../native-layout/bits.js';
import {
  CPU_CR3_PCID, CPU_IS_LAZY, CPU_LOADED_MM, CPU_STRIDE, TLB_FILL_GEN, TLB_META, TLB_PFN, TLB_STRIDE, TLB_VPN_LO,
} from '../../native-layout/fields.js';
import type { KernelCtx } from '../kernel/ctx.js';
import { inMmLocalRegion, windowCpuOf } from '../kernel/ephmap/region.js';
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
  for (let c = 0; c < k.cpus; c++) {
    const at = c * CPU_STRIDE;
    const loaded = Atomics.load(st, at + CPU_LOADED_MM);
    if (loaded !== mm || loaded === LOADED_MM_NONE || Atomics.load(st, at + CPU_IS_LAZY) !== 0) continue;
    const pcid = Atomics.load(st, at + CPU_CR3_PCID);
    for (let e = c * perCpu; e < (c + 1) * perCpu; e += TLB_STRIDE) {
      const meta = t[e + TLB_META]!;
      if ((meta & TLB_VALID) === 0 || (meta & TLB_GLOBAL) !== 0 || (meta & TLB_PCID_MASK) !== pcid) continue;
      if (t[e + TLB_PFN] !== pfn) continue;
      const vpn = (t[e + TLB_VPN_LO]! >>> 0) + ((meta & TLB_VPNHI_MASK) >>> TLB_VPNHI_SHIFT) * VPN_SPLIT;
      const va = vpn * PAGE;
      if (!inMmLocalRegion(va, k.cpus)) continue;
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
