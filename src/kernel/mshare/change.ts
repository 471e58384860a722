// Changes to an mshare host's page tables, made by a process that owns the
// region (the series' ioctls / syscalls on the mshare file, which act on the
// host mm): discard a range's pages (unmap their PTEs and free the frames,
// as MADV_DONTNEED: the host's areas stay, a later touch faults in a fresh
// page), and change a range's rights (mprotect on the host's areas).
//
// Both follow the kernel's order for a PTE change in any mm:
//   mmu_notifier_invalidate_range_start
//   PTE writes under the PTE locks
//   TLB flush (mshareFlushRange: the host's, then the host notifier's)
//   mmu_notifier_invalidate_range_end
//   free the pages
// A frame freed before the flush can be reallocated and written while a
// client CPU still reads it through its TLB (injectable as
// mshare-free-before-flush).

import { PTE_P, PTE_RW, VM_READ, VM_WRITE } from '../../../native-layout/bits.js';
import { MM_ANON_PAGES, MM_STRIDE, VMA_END, VMA_FLAGS, VMA_START } from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import { clearEntry, entryWord, ptSlotOf, readHi, readLo } from '../../hw/ptstore.js';
import { ptePfn } from '../../hw/pte.js';
import { downRead, downWrite, upRead, upWrite } from '../../sync/rwsem.js';
import { countSyscall } from '../account.js';
import type { KernelCtx } from '../ctx.js';
import { vmPageProt } from '../mm/fault.js';
import { mmPgd, mmapLockAt } from '../mm/mm.js';
import { putPage } from '../mm/page-ref.js';
import { EINVAL, changeProtection } from '../mm/pgtable.js';
import { pteLock, pteUnlock } from '../mm/ptlock.js';
import { setVmaFlags, vmaAt } from '../mm/vma.js';
import { PTRS_PER_PTE, pteTablePfn } from '../mm/zap.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../mmu_notifier/notifier.js';
import { SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { mshareFlushRange } from './flush.js';
import { mshareHost, msharePages, mshareStart } from './region.js';

const PAGE = 4096;
/** Most pages one call may change (the frames are held in a fixed batch until the flush). */
export const MSHARE_MAX_CHANGE_PAGES = 512;
const BUG_FREE_BEFORE_FLUSH = BUG['mshare-free-before-flush']!;

/** This thread's batch of frames unmapped and not yet freed. */
const batch = new Int32Array(MSHARE_MAX_CHANGE_PAGES);

function validRange(k: KernelCtx, r: number, start: number, pages: number): boolean {
  const s = mshareStart(k, r);
  return Number.isInteger(start) && Number.isInteger(pages) && pages > 0 && pages <= MSHARE_MAX_CHANGE_PAGES
    && start >= s && start + pages <= s + msharePages(k, r);
}

/**
 * Discards pages [start, start + pages) of region r: their PTEs are
 * cleared in the host tables (so in every client at once), every client
 * TLB and secondary MMU is flushed, then the frames are freed. Returns the
 * pages unmapped, or EINVAL (outside the region, or more than
 * MSHARE_MAX_CHANGE_PAGES). Host mmap_lock for read, as MADV_DONTNEED.
 */
export function mshareZapRange(k: KernelCtx, r: number, start: number, pages: number): number {
  countSyscall(k);
  if (!validRange(k, r, start, pages)) return EINVAL;
  const host = mshareHost(k, r);
  const root = mmPgd(k, host);
  const end = start + pages;
  const lock = mmapLockAt(host);
  downRead(k.mm, lock);
  mmuNotifierInvalidateRangeStart(k, host, start, end);
  const pt = k.env.pt;
  let n = 0;
  for (let vpn = start; vpn < end;) {
    const chunkEnd = Math.min(end, (Math.floor(vpn / PTRS_PER_PTE) + 1) * PTRS_PER_PTE);
    const table = pteTablePfn(k, root, vpn * PAGE);
    if (table >= 0) {
      const slot = ptSlotOf(k.frame, table);
      pteLock(k, slot);
      for (let v = vpn; v < chunkEnd; v++) {
        const w = entryWord(slot, v & (PTRS_PER_PTE - 1));
        if ((readLo(pt, w) & PTE_P) === 0) continue;
        const hi = readHi(pt, w);
        const lo = clearEntry(pt, k.env.seq, w);
        kernelPoint(SITE_PTE_WRITE);
        if ((lo & PTE_P) === 0) continue;
        batch[n++] = ptePfn(lo, hi);
      }
      pteUnlock(k, slot);
    }
    vpn = chunkEnd;
  }
  if (n > 0) Atomics.sub(k.mm, host * MM_STRIDE + MM_ANON_PAGES, n);
  const early = injected[BUG_FREE_BEFORE_FLUSH] !== 0;
  // The bug: the frames go back before any client CPU was told. One is
  // reallocated (by a fault in this very region, often) while CPU 2 still
  // holds the old translation and reads or writes through it.
  if (early) for (let i = 0; i < n; i++) putPage(k, batch[i]!);
  if (n > 0) mshareFlushRange(k, r, start, end);
  mmuNotifierInvalidateRangeEnd(k, host, start, end);
  if (!early) for (let i = 0; i < n; i++) putPage(k, batch[i]!);
  upRead(k.mm, lock);
  return n;
}

/**
 * Sets the rights of region r's host areas inside [start, start + pages)
 * to vmFlags (VM_READ / VM_WRITE); the range must be made of whole host
 * areas (the scenario maps one area per piece), else EINVAL. Taking write
 * away clears RW in the present PTEs and flushes before returning: a client
 * CPU must not go on writing through a cached writable entry. Granting it
 * changes no PTE (the write fault upgrades them). Host mmap_lock for write.
 * Returns 0 or EINVAL.
 */
export function mshareProtect(k: KernelCtx, r: number, start: number, pages: number, vmFlags: number): number {
  countSyscall(k);
  if (!validRange(k, r, start, pages)) return EINVAL;
  const host = mshareHost(k, r);
  const root = mmPgd(k, host);
  const end = start + pages;
  const lock = mmapLockAt(host);
  downWrite(k.mm, lock);
  let covered = 0;
  const v = k.vma;
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, host, i);
    if (v[at + VMA_FLAGS] === 0 || v[at + VMA_START]! < start || v[at + VMA_END]! > end) continue;
    covered += v[at + VMA_END]! - v[at + VMA_START]!;
  }
  if (covered !== pages) {
    upWrite(k.mm, lock);
    return EINVAL;
  }
  mmuNotifierInvalidateRangeStart(k, host, start, end);
  let downgraded = 0;
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, host, i);
    const flags = v[at + VMA_FLAGS]!;
    if (flags === 0 || v[at + VMA_START]! < start || v[at + VMA_END]! > end) continue;
    setVmaFlags(k, at, (flags & ~(VM_READ | VM_WRITE)) | (vmFlags & (VM_READ | VM_WRITE)));
  }
  const prot = vmPageProt(vmFlags);
  if ((prot & PTE_RW) === 0) {
    const pt = k.env.pt;
    for (let vpn = start; vpn < end;) {
      const chunkEnd = Math.min(end, (Math.floor(vpn / PTRS_PER_PTE) + 1) * PTRS_PER_PTE);
      const table = pteTablePfn(k, root, vpn * PAGE);
      if (table >= 0) {
        const slot = ptSlotOf(k.frame, table);
        pteLock(k, slot);
        for (let p = vpn; p < chunkEnd; p++) {
          const lo = readLo(pt, entryWord(slot, p & (PTRS_PER_PTE - 1)));
          if ((lo & PTE_P) === 0 || (lo & PTE_RW) === 0) continue;
          changeProtection(k.env, root, p * PAGE, prot);
          downgraded++;
        }
        pteUnlock(k, slot);
      }
      vpn = chunkEnd;
    }
  }
  if (downgraded > 0) mshareFlushRange(k, r, start, end);
  mmuNotifierInvalidateRangeEnd(k, host, start, end);
  upWrite(k.mm, lock);
  return 0;
}
