// The isolation oracle (SEMANTICS.md §9 item 2; issue 7 item 6(a)): a CPU
// in a nonsensitive address space (its CR3 holds a PCID with the ASI class
// bits) may hold or use a translation only to a frame it may see:
// - user half: the mm's own tables (shared with its sensitive PGD), so what
//   they translate is the process's own data by construction; stale user
//   entries are the stale-TLB oracle's business;
// - kernel half: a frame in a nonsensitive pageblock (the nonsensitive
//   physmap), or a frame the mm's own kernel region maps for it (the
//   ephemeral maps extend asiKernelFrameAllowed when they exist).
// Everything else in the kernel half (the direct map of a sensitive frame, a
// global entry that survived the CR3 write, another mm's region) is a
// violation, whether it was used (a TLB hit), filled by a walk, or filled
// speculatively: the side channel needs only the entry.
//
// Checked inline where translations appear: on every TLB hit and every fill
// (architectural and speculative) while the PCID is nonsensitive (one
// compare otherwise, in mmu.ts), and, like flush-audit.ts, over the whole TLB
// of a CPU when a flush reaches it in the nonsensitive space (entries that
// were filled while their frame was still nonsensitive and whose pageblock
// has since turned sensitive: the frame changed owner under them).

import {
  PB_NONSENSITIVE as PB_NONSENSITIVE_, TLB_PCID_MASK as TLB_PCID_MASK_, TLB_SIZE_MASK as TLB_SIZE_MASK_, TLB_SIZE_SHIFT as TLB_SIZE_SHIFT_,
  TLB_VPNHI_MASK as TLB_VPNHI_MASK_, TLB_VPNHI_SHIFT as TLB_VPNHI_SHIFT_,
} from '../../native-layout/bits.js';
import type { MachineViews } from '../../native-layout/memory.js';
import { pageblockFlags } from '../kernel/page_alloc/pageblock.js';
import { V_ISOLATION, reportViolation } from './oracle.js';
import { MM_LOCAL_BASE } from '../kernel/ephmap/region.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const PB_NONSENSITIVE = PB_NONSENSITIVE_, TLB_PCID_MASK = TLB_PCID_MASK_, TLB_SIZE_MASK = TLB_SIZE_MASK_, TLB_SIZE_SHIFT = TLB_SIZE_SHIFT_,
  TLB_VPNHI_MASK = TLB_VPNHI_MASK_, TLB_VPNHI_SHIFT = TLB_VPNHI_SHIFT_;

const KERNEL_HALF = 2 ** 47;
const ASI_PCID_MIN = 1 << 10;
const SIZE_DIV = [4096, 2 ** 21, 2 ** 30];
/** fillGen of an isolation record: how the translation was found. */
export const ISOLATION_HIT = 0;
export const ISOLATION_FILL = 1;
export const ISOLATION_SPEC_FILL = 2;
export const ISOLATION_AT_FLUSH = 3;

/**
 * The mm's own kernel region (ephmap slots, mermap windows): its PGD slot
 * is the mm's, so an entry there maps the running process's own data (a
 * page it can read()); that it stops doing so when the process loses
 * access is checked where the access is lost (ephemeral-audit.ts).
 */
function inMmLocalSlot(va: number): boolean {
  return va >= MM_LOCAL_BASE && va < MM_LOCAL_BASE + 2 ** 39;
}

/** Whether a CPU in a nonsensitive space may translate kernel-half va to pfn. */
export function asiKernelFrameAllowed(views: MachineViews, pfn: number): boolean {
  return (pageblockFlags(views.pageblock, pfn) & PB_NONSENSITIVE) !== 0;
}

/**
 * The slow half of the inline check: called by the Mmu only when the PCID
 * is nonsensitive and va is in the kernel half. Reports an isolation
 * violation (fillGen = how: hit, fill, speculative fill) naming this CPU.
 */
export function checkIsolation(views: MachineViews, cpu: number, va: number, pfn: number, how: number, task: number, op: number): void {
  if (asiKernelFrameAllowed(views, pfn) || inMmLocalSlot(va)) return;
  reportViolation(views, cpu, V_ISOLATION, va, pfn, how, -1, task, op);
}

/**
 * The audit over this CPU's own TLB: every valid kernel-half entry tagged
 * with a nonsensitive PCID must still be allowed. Returns the number found.
 * The owner runs it (a flush reached it); others may read racily only at
 * quiescent points.
 */
export function auditAsiEntries(
  views: MachineViews, cpu: number, tlb: { forEachValid(fn: (meta: number, vpnLo: number, pfn: number, fillGen: number) => void): void },
  task: number, op: number,
): number {
  let found = 0;
  tlb.forEachValid((meta, vpnLo, pfn) => {
    if ((meta & TLB_PCID_MASK) < ASI_PCID_MIN) return;
    const size = (meta & TLB_SIZE_MASK) >>> TLB_SIZE_SHIFT;
    const vpn = (vpnLo >>> 0) + ((meta & TLB_VPNHI_MASK) >>> TLB_VPNHI_SHIFT) * 2 ** 32;
    const va = vpn * SIZE_DIV[size]!;
    if (va < KERNEL_HALF || asiKernelFrameAllowed(views, pfn) || inMmLocalSlot(va)) return;
    found++;
    reportViolation(views, cpu, V_ISOLATION, va, pfn, ISOLATION_AT_FLUSH, -1, task, op);
  });
  return found;
}
