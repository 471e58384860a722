// A fault in a client's mshare area (the series' mshare fault path): the
// client's tables for the range are the host's, so the fault is resolved
// in the host mm, under the host's mmap_lock and page-table locks, against
// the host's areas and their rights. The PTE it installs is at once
// present for every client.
//
// Lock order: the client's mmap_lock (taken by handleMmFault), then the
// host's. Changes to the host (src/kernel/mshare/change.ts) take only the
// host's, so no CPU ever waits for a client's lock while holding it.

import { VM_READ, VM_WRITE } from '../../../native-layout/bits.js';
import { VMA_FLAGS } from '../../../native-layout/fields.js';
import { downRead, upRead } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { FAULT_SIGSEGV, handlePteFault } from '../mm/fault.js';
import { mmapLockAt } from '../mm/mm.js';
import { findVma } from '../mm/vma.js';
import { mshareHost, mshareIsClient, mshareRegionOf } from './region.js';

const PAGE = 4096;

/**
 * handle_mm_fault() of client mm at va inside an mshare area: 0 (retry),
 * FAULT_SIGSEGV (no host area there, or not the rights asked) or
 * FAULT_OOM. The caller holds mm's mmap_lock for read.
 */
export function mshareFault(k: KernelCtx, mm: number, va: number, write: boolean): number {
  const vpn = Math.floor(va / PAGE);
  const r = mshareRegionOf(k, vpn);
  if (r < 0 || !mshareIsClient(k, r, mm)) return FAULT_SIGSEGV;
  const host = mshareHost(k, r);
  const lock = mmapLockAt(host);
  downRead(k.mm, lock);
  let ret = FAULT_SIGSEGV;
  const vma = findVma(k, host, vpn);
  if (vma >= 0) {
    const flags = k.vma[vma + VMA_FLAGS]!;
    if ((flags & VM_READ) !== 0 && (!write || (flags & VM_WRITE) !== 0)) ret = handlePteFault(k, host, flags, va, write, -1, 0);
  }
  upRead(k.mm, lock);
  return ret;
}
