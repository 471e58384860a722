// The user page-fault handler (mm/memory.c handle_mm_fault(), reduced to
// anonymous memory and page-cache files): demand-zero on first touch,
// copy-on-write for a write to a page that fork left shared and read-only,
// and for file mappings (filemap.ts) do_read_fault / do_cow_fault /
// do_shared_fault; a NUMA hinting (PROT_NONE) entry takes do_numa_page
// (numa.ts, migrate.ts), a migration entry waits for its migration.
// mmap_lock is held for read, the PTE table's lock around the PTE decision.

import { PTE_RW, PTE_US, VM_HUGETLB, VM_MSHARE, VM_READ, VM_SHARED, VM_WRITE } from '../../../native-layout/bits.js';
import { FRAME_STRIDE, FR_CONTENT, MM_ANON_PAGES, MM_STRIDE, VMA_FILE, VMA_FLAGS, VMA_PGOFF, VMA_START } from '../../../native-layout/fields.js';
import { writeFrame } from '../../hw/frames.js';
import { downRead, upRead } from '../../sync/rwsem.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';
import { GFP_HIGHUSER_MOVABLE, __GFP_ZERO } from '../page_alloc/gfp.js';
import { flushTlbPage } from '../tlb/flush-mm.js';
import { mmPgd, mmapLockAt, ptlAt } from './mm.js';
import { filemapGetPage, findFilePage, isFilePage } from './filemap.js';
import { folioTrylock, folioUnlock, folioWaitLocked } from './folio-lock.js';
import { pageRefcount, putPage } from './page-ref.js';
import { ENOMEM, changeProtection, lookupAddress, mapPte, pteAlloc, unmapLeaf } from './pgtable.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { pteTableSlot } from './zap.js';
import { findVma } from './vma.js';
import { entryWord, readHi, readLo } from '../../hw/ptstore.js';
import { ptIndex } from '../../hw/pte.js';
import { numaRestore, numaShouldMigrate, numaTally } from './numa.js';
import { migrateMisplaced, migrationEntryWait } from './migrate.js';
import { pteIsMigration, pteIsProtNone } from './pte-states.js';
import { countPageCopy } from '../account.js';
import { mshareFault } from '../mshare/fault.js';
import { hugetlbFault } from './hugetlb.js';

/** VM_FAULT_SIGSEGV: no mapping, or no permission (returned as -EFAULT). */
export const FAULT_SIGSEGV = -14;
/** VM_FAULT_OOM. */
export const FAULT_OOM = ENOMEM;

const PAGE = 4096;
const GFP_USER_PAGE = GFP_HIGHUSER_MOVABLE;

/** The PTE rights for a VMA's pages (vm_get_page_prot): user, writable if VM_WRITE. */
export function vmPageProt(vmFlags: number): number {
  return PTE_US | ((vmFlags & VM_WRITE) !== 0 ? PTE_RW : 0);
}

/**
 * handle_mm_fault() for a user access to va in mm. Returns 0 when the access
 * can be retried, FAULT_SIGSEGV or FAULT_OOM.
 */
export function handleMmFault(k: KernelCtx, mm: number, va: number, write: boolean): number {
  const lock = mmapLockAt(mm);
  downRead(k.mm, lock);
  const vma = findVma(k, mm, Math.floor(va / PAGE));
  let r = FAULT_SIGSEGV;
  if (vma >= 0) {
    const flags = k.vma[vma + VMA_FLAGS];
    // mshare (issue 8): the area's tables are the host's; the fault is
    // resolved there, under the host's locks (src/kernel/mshare/fault.ts).
    if ((flags & VM_MSHARE) !== 0) r = mshareFault(k, mm, va, write);
    else if ((flags & VM_HUGETLB) !== 0) r = hugetlbFault(k, mm, vma, va, FAULT_SIGSEGV, FAULT_OOM);
    else if ((flags & VM_READ) !== 0 && (!write || (flags & VM_WRITE) !== 0)) {
      const file = k.vma[vma + VMA_FILE];
      // File page index of va (anonymous VMAs carry file -1).
      const index = file >= 0 ? k.vma[vma + VMA_PGOFF] + Math.floor(va / PAGE) - k.vma[vma + VMA_START] : 0;
      r = handlePteFault(k, mm, flags, va, write, file, index);
      if (r === VM_FAULT_RETRY) {
        // The page was locked (reclaim is inside it): wait with mmap_lock
        // dropped, then let the access fault again (__folio_lock_or_retry).
        upRead(k.mm, lock);
        folioWaitLocked(k, file, index);
        return 0;
      }
    }
  }
  upRead(k.mm, lock);
  return r;
}

/** VM_FAULT_RETRY: the page's folio lock is held elsewhere; handleMmFault waits for it with nothing held. */
export const VM_FAULT_RETRY = 1;

/**
 * The PTE level of a fault in mm at va, for an area with vmFlags (file and
 * index for a file area, -1 and 0 for anonymous memory); mmap_lock of mm
 * held for read. Also the mshare host's fault path (mshare/fault.ts), whose
 * areas are anonymous, so it never sees VM_FAULT_RETRY (a file page's busy
 * folio lock).
 */
export function handlePteFault(k: KernelCtx, mm: number, vmFlags: number, va: number, write: boolean, file: number, index: number): number {
  const root = mmPgd(k, mm);
  const ref = k.ref;
  let slot = pteTableSlot(k, root, va);
  if (slot < 0) {
    // __pte_alloc(): the levels above the PTE are populated under
    // page_table_lock, so two threads faulting in a new region do not both
    // install a table.
    const ptl = ptlAt(mm);
    spinLock(k.mm, ptl);
    const w = pteAlloc(k.env, k.cpu, root, va);
    spinUnlock(k.mm, ptl);
    if (w < 0) return FAULT_OOM;
    slot = pteTableSlot(k, root, va);
  }
  // A none PTE in a file VMA (vmf->orig_pte, read without the lock, as
  // do_pte_missing decides): __do_fault() finds the page and locks it
  // before the PTE lock is taken (lock order folio -> PTE lock, as reclaim
  // takes them). Reclaim holds the lock from its rmap walk to the page's
  // writeback, so a page it found mapped nowhere stays so until it is
  // written back and clean (folio-lock.ts tells the lost write this
  // prevents). Only a trylock here: waiting for it is done with mmap_lock
  // dropped (handleMmFault).
  let page = -1;
  let locked = false;
  if (file >= 0 && lookupAddress(k.env, root, va, ref) < 0) {
    page = filemapGetPage(k, file, index);
    if (page < 0) return FAULT_OOM;
    if (!folioTrylock(k, file, index)) {
      putPage(k, page);
      return VM_FAULT_RETRY;
    }
    locked = true;
  }
  // The PTE table cannot go away under us: tables are freed only with
  // mmap_lock held for write, and we hold it for read.
  pteLock(k, slot);
  let r = 0;
  // A non-present entry is not necessarily none: a NUMA hinting (PROT_NONE)
  // or migration entry still maps a page (pte-states.ts). lookupAddress
  // calls both "not present"; taken for none, the fault would map a fresh
  // zero page over the process's data.
  const w = entryWord(slot, ptIndex(va, 1));
  const lo0 = readLo(k.env.pt, w);
  const hi0 = readHi(k.env.pt, w);
  if (pteIsProtNone(lo0)) {
    // do_numa_page(): put it back, or migrate the page (with the lock
    // dropped: migration takes it itself), then the access retries.
    numaTally.faults++;
    const writable = (vmFlags & VM_WRITE) !== 0;
    if (file < 0 && numaShouldMigrate()) {
      pteUnlock(k, slot);
      migrateMisplaced(k, mm, slot, w, Math.floor(va / PAGE), lo0, hi0, writable);
      return 0;
    }
    numaRestore(k, w, lo0, hi0, writable);
  } else if (pteIsMigration(lo0)) {
    pteUnlock(k, slot);
    // (Only anonymous pages migrate, so no file page was looked up or
    // locked above; let go of one all the same before waiting.)
    if (locked) {
      if (page >= 0) putPage(k, page);
      folioUnlock(k, file, index);
    }
    migrationEntryWait(k, w, lo0, hi0);
    return 0;
  } else if (lookupAddress(k.env, root, va, ref) < 0) {
    if (file < 0) r = doAnonymousPage(k, mm, root, vmFlags, va);
    // Truncated between our lookup and now (Linux rechecks folio->mapping
    // after folio_lock): leave it, and the retry finds the hole. Checked
    // under the PTE lock: truncation takes the page out of its slot before
    // its second unmap pass, which takes this lock, so either we see the
    // slot emptied here or that pass finds the PTE we set (truncate.ts).
    else if (page >= 0 && findFilePage(k.views.file, file, index) === page) {
      r = doFault(k, mm, root, vmFlags, va, write, page);
      page = -1;
    }
    // else the PTE was cleared since we looked: the retry takes the file path.
  }
  else if (write && (ref.lo & PTE_RW) === 0) r = doWpPage(k, mm, root, vmFlags, va, ref.pfn);
  // Otherwise another thread resolved it first (or the TLB entry that
  // faulted was older than the PTE): the retry will find it.
  pteUnlock(k, slot);
  if (locked) {
    // Mapped by another thread first: our reference goes (the PTE has its own).
    if (page >= 0) putPage(k, page);
    folioUnlock(k, file, index);
  }
  return r;
}

/** do_anonymous_page(): a zeroed page, mapped with the VMA's rights. No flush: nothing was cached for a none PTE. */
function doAnonymousPage(k: KernelCtx, mm: number, root: number, vmFlags: number, va: number): number {
  const pfn = k.alloc.allocPages(k.cpu, 0, GFP_USER_PAGE | __GFP_ZERO);
  if (pfn < 0) return FAULT_OOM;
  const e = mapPte(k.env, k.cpu, root, va - (va % PAGE), pfn, vmPageProt(vmFlags));
  if (e < 0) {
    k.alloc.freePages(k.cpu, pfn, 0);
    return FAULT_OOM;
  }
  Atomics.add(k.mm, mm * MM_STRIDE + MM_ANON_PAGES, 1);
  return 0;
}

/**
 * do_fault() for a none PTE in a file VMA:
 * - do_shared_fault (VM_SHARED): map the cache page with the VMA's rights;
 * - do_read_fault (private, read): map the cache page read-only, so a later
 *   write takes do_wp_page and copies;
 * - do_cow_fault (private, write): copy the cache page into a new anonymous
 *   page and map that.
 * The caller looked the page up (filemapGetPage: with a reference, which
 * the PTE keeps, or (copy) we drop once copied; without it, reclaim could
 * evict and free the page between the lookup and our mapping), locked it,
 * and checked under the PTE lock that the slot still holds it: truncation
 * (truncate.ts) then catches the mapping we make.
 */
function doFault(k: KernelCtx, mm: number, root: number, vmFlags: number, va: number, write: boolean, page: number): number {
  const base = va - (va % PAGE);
  const prot = vmPageProt(vmFlags);
  if ((vmFlags & VM_SHARED) !== 0 || !write) {
    const e = mapPte(k.env, k.cpu, root, base, page, (vmFlags & VM_SHARED) !== 0 ? prot : prot & ~PTE_RW);
    if (e < 0) {
      putPage(k, page);
      return FAULT_OOM;
    }
    return 0;
  }
  const copy = k.alloc.allocPages(k.cpu, 0, GFP_USER_PAGE);
  if (copy < 0) {
    putPage(k, page);
    return FAULT_OOM;
  }
  // The process keeps its logical access to the file page (read() can reach it).
  k.copyUserPage(k, copy, page, false);
  countPageCopy(k);
  putPage(k, page);
  const e = mapPte(k.env, k.cpu, root, base, copy, prot);
  if (e < 0) {
    k.alloc.freePages(k.cpu, copy, 0);
    return FAULT_OOM;
  }
  Atomics.add(k.mm, mm * MM_STRIDE + MM_ANON_PAGES, 1);
  return 0;
}

/**
 * do_wp_page(): a write to a read-only PTE in a writable VMA. If we are the
 * page's only mapper (the other side of the fork already copied or exited)
 * it is reused in place: making a PTE more permissive needs no flush. Else
 * wp_page_copy(): copy, then ptep_clear_flush() the old PTE, install the
 * copy, and only then drop our reference to the old page: the other mapper
 * may drop its own at any time, and the page must not be freed while any
 * CPU still translates our address to it.
 */
function doWpPage(k: KernelCtx, mm: number, root: number, vmFlags: number, va: number, old: number): number {
  const prot = vmPageProt(vmFlags);
  const base = va - (va % PAGE);
  // A page-cache page mapped into a private VMA is never reused in place
  // (the cache holds it too): it is copied, and the copy is anonymous.
  const fromFile = isFilePage(k, old);
  if ((vmFlags & VM_SHARED) !== 0 || (!fromFile && pageRefcount(k, old) === 1)) {
    changeProtection(k.env, root, base, prot);
    return 0;
  }
  const copy = k.alloc.allocPages(k.cpu, 0, GFP_USER_PAGE);
  if (copy < 0) return FAULT_OOM;
  // An anonymous source leaves this process with the putPage below.
  k.copyUserPage(k, copy, old, !fromFile);
  countPageCopy(k);
  unmapLeaf(k.env, root, base);
  flushTlbPage(k, mm, Math.floor(va / PAGE));
  mapPte(k.env, k.cpu, root, base, copy, prot);
  if (fromFile) Atomics.add(k.mm, mm * MM_STRIDE + MM_ANON_PAGES, 1);
  putPage(k, old);
  return 0;
}
