// An IOMMU-like device with shared virtual addressing (SVA: Intel VT-d
// scalable mode, AMD IOMMU v2, Arm SMMU with SVA): it walks a process's own
// x86 page tables, from the PGD of the mm it is bound to, and caches what
// it finds in its own IOTLB. Nothing the CPUs do to their TLBs reaches it:
// no IPI, no CR3 write, no INVLPG. Its only invalidations are the requests
// the kernel sends it from mmu-notifier callbacks of the bound mm
// (src/kernel/mmu_notifier): a notifier that does not fire leaves the
// device translating to a frame that was freed and perhaps reused.
//
// The IOTLB lives in the SAB (region 'iommu'): direct-mapped by vpn,
// IOTLB_ENTRIES entries of (1 + vpn, pfn, fill generation, writable). A
// fill, a lookup and an invalidation each hold the device's lock. That is
// the hardware's guarantee an invalidation request gives (VT-d's
// invalidation wait descriptor, SMMU's CMD_SYNC): when it completes, no
// translation of the range is cached and no walk that began before it can
// still insert one. Without it, a walk that read the old PTE before the
// kernel cleared it could fill the IOTLB after the invalidation ran.
//
// The oracle (SEMANTICS.md §9 item 1, for a secondary TLB): a hit whose
// frame generation moved since the fill is a use after free through the
// IOTLB (V_STALE_IOTLB).

import {
  FRAME_STATE_MASK as FRAME_STATE_MASK_, FS_PAGETABLE as FS_PAGETABLE_, PTE_P as PTE_P_, PTE_PS as PTE_PS_, PTE_RW as PTE_RW_, PTE_US as PTE_US_,
  PT_WORDS as PT_WORDS_,
} from '../../native-layout/bits.js';
import { C as C_ } from '../../native-layout/counters.js';
import {
  COUNTERS_STRIDE as COUNTERS_STRIDE_, FRAME_STRIDE as FRAME_STRIDE_, FR_CONTENT_GEN as FR_CONTENT_GEN_, FR_FLAGS as FR_FLAGS_,
  FR_PRIVATE as FR_PRIVATE_, IOMMU_LOCK as IOMMU_LOCK_, IOMMU_MM as IOMMU_MM_, IOMMU_ROOT as IOMMU_ROOT_, IOMMU_STRIDE as IOMMU_STRIDE_,
  IOTLB_FILL_GEN as IOTLB_FILL_GEN_, IOTLB_PFN as IOTLB_PFN_, IOTLB_RW as IOTLB_RW_, IOTLB_TAG_VPN as IOTLB_TAG_VPN_, PT_SEQ_DONE as PT_SEQ_DONE_,
  PT_SEQ_STARTED as PT_SEQ_STARTED_, PT_SEQ_STRIDE as PT_SEQ_STRIDE_,
} from '../../native-layout/fields.js';
import type { MachineViews } from '../../native-layout/memory.js';
import { IOMMU_DEVICES as IOMMU_DEVICES_, IOTLB_ENTRIES as IOTLB_ENTRIES_ } from '../../native-layout/regions.js';
import { V_STALE_IOTLB, reportViolation } from '../check/oracle.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { ptePfn } from './pte.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const IOMMU_DEVICES = IOMMU_DEVICES_, IOTLB_ENTRIES = IOTLB_ENTRIES_;
const FRAME_STATE_MASK = FRAME_STATE_MASK_, FS_PAGETABLE = FS_PAGETABLE_, PTE_P = PTE_P_, PTE_PS = PTE_PS_, PTE_RW = PTE_RW_, PTE_US = PTE_US_,
  PT_WORDS = PT_WORDS_, C = C_, COUNTERS_STRIDE = COUNTERS_STRIDE_, FRAME_STRIDE = FRAME_STRIDE_, FR_CONTENT_GEN = FR_CONTENT_GEN_,
  FR_FLAGS = FR_FLAGS_, FR_PRIVATE = FR_PRIVATE_, IOMMU_LOCK = IOMMU_LOCK_, IOMMU_MM = IOMMU_MM_, IOMMU_ROOT = IOMMU_ROOT_,
  IOMMU_STRIDE = IOMMU_STRIDE_, IOTLB_FILL_GEN = IOTLB_FILL_GEN_, IOTLB_PFN = IOTLB_PFN_, IOTLB_RW = IOTLB_RW_, IOTLB_TAG_VPN = IOTLB_TAG_VPN_,
  PT_SEQ_DONE = PT_SEQ_DONE_, PT_SEQ_STARTED = PT_SEQ_STARTED_, PT_SEQ_STRIDE = PT_SEQ_STRIDE_;

/** The walk found no present translation with the rights asked: the device raises a page request. */
export const IOMMU_FAULT = -1;
/** The walk reached a frame that is not a page table (a freed table still linked). */
export const IOMMU_BAD_TABLE = -2;

const PAGE = 4096;
const LEVEL_DIV = [0, 2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39];
const C_IOTLB_INVALIDATIONS = C.iotlbInvalidations;

/** Thrown for a device id outside 0..IOMMU_DEVICES-1. */
export class IommuError extends RangeError {
  override name = 'IommuError';
}

function deviceAt(dev: number): number {
  if (!Number.isInteger(dev) || dev < 0 || dev >= IOMMU_DEVICES) {
    throw new IommuError(`IOMMU device ${dev} is invalid: use 0..${IOMMU_DEVICES - 1}`);
  }
  return dev * IOMMU_STRIDE;
}

/** Boot state: unbound, IOTLB empty. Main thread, before any CPU runs. */
export function iommuReset(views: MachineViews): void {
  for (let d = 0; d < IOMMU_DEVICES; d++) {
    const at = d * IOMMU_STRIDE;
    for (let w = 0; w < IOMMU_STRIDE; w++) views.iommu[at + w] = 0;
    views.iommu[at + IOMMU_ROOT] = -1;
    views.iommu[at + IOMMU_MM] = -1;
  }
}

/**
 * Points the device at a PGD (the PASID table entry of iommu_sva_bind_device):
 * from now on it walks root. The IOTLB is emptied, as binding a new PASID
 * does. mm is kept for reports only.
 */
export function iommuBind(views: MachineViews, dev: number, root: number, mm: number): void {
  const at = deviceAt(dev);
  const io = views.iommu;
  spinLock(io, at + IOMMU_LOCK);
  io[at + IOMMU_ROOT] = root;
  io[at + IOMMU_MM] = mm;
  for (let e = 0; e < IOTLB_ENTRIES; e++) io[at + IOTLB_TAG_VPN + e] = 0;
  spinUnlock(io, at + IOMMU_LOCK);
}

/** The mm the device is bound to, -1 none. */
export function iommuBoundMm(views: MachineViews, dev: number): number {
  return views.iommu[deviceAt(dev) + IOMMU_MM]!;
}

/**
 * A DMA access at va by device dev: the IOTLB, or a walk of the bound
 * tables (user rights required; write needs RW) that fills it. Returns the
 * 4 KiB frame, IOMMU_FAULT (not present or no right: the caller takes the
 * page request to the kernel) or IOMMU_BAD_TABLE. cpu, task and op name
 * who drives the device, for a violation record.
 */
export function iommuTranslate(
  views: MachineViews, dev: number, va: number, write: boolean, cpu: number, task: number, op: number,
): number {
  const at = deviceAt(dev);
  const io = views.iommu;
  const vpn = Math.floor(va / PAGE);
  const e = vpn & (IOTLB_ENTRIES - 1);
  spinLock(io, at + IOMMU_LOCK);
  if (io[at + IOTLB_TAG_VPN + e] === vpn + 1 && (!write || io[at + IOTLB_RW + e] !== 0)) {
    const pfn = io[at + IOTLB_PFN + e]!;
    const fillGen = io[at + IOTLB_FILL_GEN + e]!;
    spinUnlock(io, at + IOMMU_LOCK);
    const gen = views.frame[pfn * FRAME_STRIDE + FR_CONTENT_GEN]!;
    // The device uses the cached translation whatever happened to the
    // frame: that is the use after free the notifier exists to prevent.
    if (gen !== fillGen) reportViolation(views, cpu, V_STALE_IOTLB, va, pfn, fillGen, gen, task, op, dev);
    return pfn;
  }
  const root = io[at + IOMMU_ROOT]!;
  const r = root < 0 ? IOMMU_FAULT : walk(views, root, va, write);
  if (r >= 0) {
    io[at + IOTLB_TAG_VPN + e] = vpn + 1;
    io[at + IOTLB_PFN + e] = r;
    io[at + IOTLB_FILL_GEN + e] = views.frame[r * FRAME_STRIDE + FR_CONTENT_GEN]!;
    io[at + IOTLB_RW + e] = walkRw;
  }
  spinUnlock(io, at + IOMMU_LOCK);
  return r;
}

/** Rights of the last successful walk's leaf (1 writable), read under the device lock. */
let walkRw = 0;

/** The device's page walker: 4 levels, 4 KiB / 2 MiB / 1 GiB leaves, the ptstore.ts read protocol. */
function walk(views: MachineViews, root: number, va: number, write: boolean): number {
  const { frame, ptStore: pt, ptSeq: seq } = views;
  const frames = frame.length / FRAME_STRIDE;
  restart: for (;;) {
    let table = root;
    let rights = PTE_RW | PTE_US;
    for (let level = 4; level >= 1; level--) {
      const fb = table * FRAME_STRIDE;
      if (table < 0 || table >= frames || (frame[fb + FR_FLAGS]! & FRAME_STATE_MASK) !== FS_PAGETABLE) return IOMMU_BAD_TABLE;
      const slot = frame[fb + FR_PRIVATE]!;
      const w = slot * PT_WORDS + (Math.floor(va / LEVEL_DIV[level]!) & 511) * 2;
      const sq = slot * PT_SEQ_STRIDE;
      const done = Atomics.load(seq, sq + PT_SEQ_DONE);
      const lo = Atomics.load(pt, w);
      const hi = Atomics.load(pt, w + 1);
      if (Atomics.load(seq, sq + PT_SEQ_STARTED) !== done) continue restart;
      if ((lo & PTE_P) === 0) return IOMMU_FAULT;
      rights &= lo;
      const next = ptePfn(lo, hi);
      if (level === 1 || (level < 4 && (lo & PTE_PS) !== 0)) {
        if ((rights & PTE_US) === 0 || (write && (rights & PTE_RW) === 0)) return IOMMU_FAULT;
        walkRw = (rights & PTE_RW) !== 0 ? 1 : 0;
        if (level === 1) return next;
        const sub = Math.floor(va / PAGE) % (LEVEL_DIV[level]! / PAGE);
        return next + sub;
      }
      table = next;
    }
    return IOMMU_FAULT;
  }
}

/**
 * An invalidation request for pages [startVpn, endVpn) (endVpn < 0: all),
 * completed before it returns (the wait descriptor). Counted on the
 * requesting CPU's iotlbInvalidations.
 */
export function iommuInvalidateRange(views: MachineViews, dev: number, startVpn: number, endVpn: number, cpu: number): void {
  const at = deviceAt(dev);
  const io = views.iommu;
  spinLock(io, at + IOMMU_LOCK);
  for (let e = 0; e < IOTLB_ENTRIES; e++) {
    const tag = io[at + IOTLB_TAG_VPN + e]!;
    if (tag === 0) continue;
    const vpn = tag - 1;
    if (endVpn < 0 || (vpn >= startVpn && vpn < endVpn)) io[at + IOTLB_TAG_VPN + e] = 0;
  }
  spinUnlock(io, at + IOMMU_LOCK);
  views.counters[cpu * COUNTERS_STRIDE + C_IOTLB_INVALIDATIONS] += 1;
}

/** Valid IOTLB entries of dev that translate to a frame freed since their fill (end-of-run check). */
export function iommuStaleEntries(views: MachineViews, dev: number): number[] {
  const at = deviceAt(dev);
  const io = views.iommu;
  const out: number[] = [];
  for (let e = 0; e < IOTLB_ENTRIES; e++) {
    if (io[at + IOTLB_TAG_VPN + e] === 0) continue;
    const pfn = io[at + IOTLB_PFN + e]!;
    if (views.frame[pfn * FRAME_STRIDE + FR_CONTENT_GEN] !== io[at + IOTLB_FILL_GEN + e]) out.push(io[at + IOTLB_TAG_VPN + e]! - 1);
  }
  return out;
}
