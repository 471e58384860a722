// The kernel half of an SVA-bound IOMMU-like device (drivers/iommu/
// iommu-sva.c iommu_sva_bind_device(), and the IOTLB-invalidating notifier
// of drivers/iommu/intel/svm.c / arm-smmu-v3-sva.c): binding points the
// device at the mm's PGD and subscribes a notifier whose callbacks send the
// device an invalidation request for the range. A page request the device
// raises on a missing translation is handled as a fault of the bound mm
// (iommu_sva_handle_iopf -> handle_mm_fault), then the access is retried.
//
// The device drops the range at range_start and again at range_end (and
// with the secondary-TLB call, which costs nothing when the other two ran):
// at start, so it stops using translations being torn down; at end, because
// a walk between start and the PTE clear may have refilled one. The frames
// are freed only after range_end, so nothing it caches can lead to them.

import { readFrame } from '../../hw/frames.js';
import { IOMMU_BAD_TABLE, IOMMU_FAULT, iommuBind, iommuInvalidateRange, iommuTranslate } from '../../hw/iommu.js';
import type { KernelCtx } from '../ctx.js';
import { handleMmFault } from '../mm/fault.js';
import { mmPgd } from '../mm/mm.js';
import { MN_OPS_IOMMU_SVA, type MmuNotifierOps, mmuNotifierRegister, registerMmuNotifierOps } from './notifier.js';

const FAULT_RETRIES = 16;

/** Thrown when a device access keeps faulting although the fault handler succeeds. */
export class IommuSvaError extends Error {
  override name = 'IommuSvaError';
}

const iommuSvaOps: MmuNotifierOps = {
  invalidateRangeStart(k, _mm, dev, start, end) {
    iommuInvalidateRange(k.views, dev, start, end, k.cpu);
  },
  invalidateSecondaryTlbs() {
    // range_start and range_end bracket every change (see the header).
  },
  invalidateRangeEnd(k, _mm, dev, start, end) {
    iommuInvalidateRange(k.views, dev, start, end, k.cpu);
  },
};

/** Registers the SVA notifier ops in this thread. */
export function iommuSvaInitThread(): void {
  registerMmuNotifierOps(MN_OPS_IOMMU_SVA, iommuSvaOps);
}

/** iommu_sva_bind_device(): device dev walks mm's tables from now on, invalidated through mm's notifiers. Set-up only. */
export function iommuSvaBindDevice(k: KernelCtx, dev: number, mm: number): void {
  iommuSvaInitThread();
  iommuBind(k.views, dev, mmPgd(k, mm), mm);
  mmuNotifierRegister(k, mm, MN_OPS_IOMMU_SVA, dev);
}

/**
 * A DMA read by dev at va of the bound mm: the content word of the frame,
 * or a negative fault code (FAULT_SIGSEGV / FAULT_OOM: the page request
 * failed). task and op name the driver thread for violation records.
 */
export function iommuSvaRead(k: KernelCtx, dev: number, mm: number, va: number, task: number, op: number): number {
  for (let tries = 0; tries < FAULT_RETRIES; tries++) {
    const pfn = iommuTranslate(k.views, dev, va, false, k.cpu, task, op);
    if (pfn >= 0) return readFrame(k.frame, pfn);
    if (pfn === IOMMU_BAD_TABLE) throw new IommuSvaError(`IOMMU ${dev}: walk of 0x${va.toString(16)} reached a frame that is not a page table`);
    if (pfn !== IOMMU_FAULT) return pfn;
    // iommu_sva_handle_iopf(): the page request is a fault of the bound mm.
    const r = handleMmFault(k, mm, va, false);
    if (r < 0) return r;
  }
  throw new IommuSvaError(`IOMMU ${dev}: read of 0x${va.toString(16)} in mm ${mm} still faults after ${FAULT_RETRIES} page requests`);
}
