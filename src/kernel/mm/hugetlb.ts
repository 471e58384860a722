// hugetlbfs with shared PMD tables (mm/hugetlb.c huge_pte_alloc(),
// huge_pmd_share(), huge_pmd_unshare(), hugetlb_fault() and
// __unmap_hugepage_range(); arch/x86 has ARCH_WANT_HUGE_PMD_SHARE).
//
// Processes that map the same hugetlbfs file MAP_SHARED, over a whole
// 1 GiB-aligned range at the same file offset, share the PMD table of that
// range: the first to fault allocates it, the others point their PUD entry
// at it and take a reference on its page (page_table_shareable,
// huge_pmd_share). Its entries are 2 MiB leaves to the file's huge pages,
// written once for every sharer. A process leaving the range (munmap)
// while others still share the table does not touch its entries: it
// clears its own PUD entry and drops its reference (huge_pmd_unshare).
// That one store unmaps, for this process, every huge page of the 1 GiB
// range at once, so the flush that must follow covers the whole PUD range,
// and it must come before the file's lock is dropped: after that the last
// sharer may free the table and the page be reused while this process's
// CPUs still cache entries of it, and translations through it. Before
// a4a118f2eead (CVE-2021-4002) __unmap_hugepage_range flushed nothing for
// an unshared range (injectable as hugetlb-unshare-no-flush).
//
// Reduced (README "Reverted fixes", the hugetlb paragraph): one hugetlbfs file whose huge pages
// are preallocated at set-up (the hugetlb pool) and never truncated; a
// mapping always covers one whole 1 GiB-aligned range from file offset 0,
// and munmap takes it whole; the file's i_mmap_rwsem is one spinlock
// (share, unshare and fault all exclusive); its i_mmap tree is a small
// table of (mm, start) in the hugetlb region. Only these paths touch a
// hugetlb VMA's tables: khugepaged, the retraction and the other walkers
// skip VM_HUGETLB areas.

import {
  PTE_A, PTE_D, PTE_P, PTE_PS, PTE_RW, PTE_US, PT_ENTRIES, VM_HUGETLB, VM_READ, VM_SHARED, VM_WRITE,
} from '../../../native-layout/bits.js';
import {
  FRAME_STRIDE, FR_REFCOUNT, HUGETLB_LOCK, HUGETLB_MAPPER_MM, HUGETLB_MAPPER_VPN, HUGETLB_NR_PAGES, HUGETLB_PFN,
  VMA_END, VMA_FLAGS, VMA_START,
} from '../../../native-layout/fields.js';
import { HUGETLB_MAX_MAPPERS, HUGETLB_MAX_PAGES } from '../../../native-layout/regions.js';
import { BUG, injected } from '../../check/bugs.js';
import { setPtOwner } from '../../check/sw-walk.js';
import { clearEntry, entryWord, ptSlotOf, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { ptIndex, pteHi, pteLo, ptePfn } from '../../hw/pte.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';
import { GFP_HIGHUSER_MOVABLE, __GFP_ZERO } from '../page_alloc/gfp.js';
import { SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { flushTlbRange } from '../tlb/flush-mm.js';
import { tlbRemoveTableSync } from '../tlb/table-free.js';
import { mmPgd, ptlAt } from './mm.js';
import { getPage, putPage } from './page-ref.js';
import { EINVAL, ENOMEM, allocPgtablePage, freePgtablePage, pudEntry } from './pgtable.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { vmaErase, vmaInsert } from './vma.js';

const PAGE = 4096;
/** Base pages in one huge page (2 MiB). */
export const HPAGE_PAGES = 512;
/** Base pages under one PUD entry (1 GiB): the range a PMD table covers, and a hugetlb mapping's size. */
export const PUD_PAGES = 512 * 512;
const HPAGE_ORDER = 9;
/** A huge leaf's rights: user, writable, already accessed and dirty (as make_huge_pte of a writable shared mapping). */
const HUGE_PROT = PTE_P | PTE_US | PTE_RW | PTE_A | PTE_D;
/** A table entry's rights (_PAGE_TABLE): the leaf decides. */
const TABLE_PROT = PTE_P | PTE_RW | PTE_US;
const BUG_HUGETLB_UNSHARE_NO_FLUSH = BUG['hugetlb-unshare-no-flush']!;

/** The VM_* flags of a hugetlbfs MAP_SHARED mapping. */
export const VM_HUGETLB_SHARED = VM_READ | VM_WRITE | VM_SHARED | VM_HUGETLB;

/** This CPU's counts (one CPU per worker thread): PMD tables shared at a fault, and unshared at a munmap. */
export const hugetlbTally = { shares: 0, unshares: 0 };

function lockFile(k: KernelCtx): void {
  spinLock(k.views.hugetlb, HUGETLB_LOCK);
}

function unlockFile(k: KernelCtx): void {
  spinUnlock(k.views.hugetlb, HUGETLB_LOCK);
}

/**
 * hugetlb_acct / the pool at boot: allocates `pages` (at most
 * HUGETLB_MAX_PAGES) zeroed 2 MiB pages for the file on k's CPU. Each keeps
 * one reference, the file's. Returns how many it got (fewer when memory
 * ran out). Set-up only, before any CPU runs.
 */
export function hugetlbFileInit(k: KernelCtx, pages: number): number {
  const h = k.views.hugetlb;
  let n = 0;
  for (; n < Math.min(pages, HUGETLB_MAX_PAGES); n++) {
    const pfn = k.alloc.allocPages(k.cpu, HPAGE_ORDER, GFP_HIGHUSER_MOVABLE | __GFP_ZERO);
    if (pfn < 0) break;
    h[HUGETLB_PFN + n] = pfn;
  }
  h[HUGETLB_NR_PAGES] = n;
  return n;
}

/** Huge pages in the file. */
export function hugetlbFilePages(h: Int32Array): number {
  return h[HUGETLB_NR_PAGES]!;
}

/** Calls fn with the head frame of every huge page of the file (the end-of-run check: the file holds one reference on each). */
export function forEachHugetlbPage(h: Int32Array, fn: (pfn: number, index: number) => void): void {
  for (let i = 0; i < h[HUGETLB_NR_PAGES]!; i++) fn(h[HUGETLB_PFN + i]!, i);
}

/**
 * mmap of the hugetlbfs file (MAP_SHARED, from offset 0) at start, for
 * PUD_PAGES pages: the VMA, and its entry in the file's i_mmap. mmap_lock
 * of mm held for write. 0, EINVAL (not one whole aligned 1 GiB range),
 * EEXIST (overlap) or ENOMEM (no VMA or i_mmap slot).
 */
export function hugetlbMmapLocked(k: KernelCtx, mm: number, start: number, pages: number): number {
  if (start % PUD_PAGES !== 0 || pages !== PUD_PAGES) return EINVAL;
  const h = k.views.hugetlb;
  lockFile(k);
  let slot = -1;
  for (let i = 0; i < HUGETLB_MAX_MAPPERS && slot < 0; i++) if (h[HUGETLB_MAPPER_MM + i] === 0) slot = i;
  const r = slot < 0 ? ENOMEM : vmaInsert(k, mm, start, start + pages, VM_HUGETLB_SHARED);
  if (r === 0) {
    h[HUGETLB_MAPPER_MM + slot] = mm + 1;
    h[HUGETLB_MAPPER_VPN + slot] = start;
  }
  unlockFile(k);
  return r;
}

/**
 * huge_pmd_share(): a PMD table another process's mapping of the same
 * range already linked, with a reference taken on it for mm; -1 if none.
 * The file's lock held (its i_mmap cannot change, and no sharer can drop
 * the table meanwhile).
 */
function hugePmdShare(k: KernelCtx, mm: number, start: number): number {
  const h = k.views.hugetlb;
  const pt = k.env.pt;
  const va = start * PAGE;
  for (let i = 0; i < HUGETLB_MAX_MAPPERS; i++) {
    const other = h[HUGETLB_MAPPER_MM + i]! - 1;
    if (other < 0 || other === mm || h[HUGETLB_MAPPER_VPN + i] !== start) continue;
    // The other mm's PGD entry, then its PUD entry: its upper tables live
    // as long as the mm, and the PUD entry changes only under our lock.
    const pgdW = entryWord(ptSlotOf(k.frame, mmPgd(k, other)), ptIndex(va, 4));
    const pgdLo = readLo(pt, pgdW);
    if ((pgdLo & PTE_P) === 0) continue;
    const pudW = entryWord(ptSlotOf(k.frame, ptePfn(pgdLo, readHi(pt, pgdW))), ptIndex(va, 3));
    const lo = readLo(pt, pudW);
    if ((lo & PTE_P) === 0 || (lo & PTE_PS) !== 0) continue;
    const table = ptePfn(lo, readHi(pt, pudW));
    Atomics.add(k.frame, table * FRAME_STRIDE + FR_REFCOUNT, 1);
    hugetlbTally.shares++;
    return table;
  }
  return -1;
}

/**
 * hugetlb_fault() for va in the hugetlb VMA at `vma` (a k.vma index) of
 * mm, mmap_lock held for read: links the range's PMD table (shared if
 * another process has one: huge_pte_alloc) and maps va's huge page in it
 * if it is not yet. 0 (retry the access), FAULT_SIGSEGV past the file's
 * end (SIGBUS in Linux), or FAULT_OOM.
 */
export function hugetlbFault(k: KernelCtx, mm: number, vma: number, va: number, sigsegv: number, oom: number): number {
  const start = k.vma[vma + VMA_START]!;
  const index = Math.floor((Math.floor(va / PAGE) - start) / HPAGE_PAGES);
  const h = k.views.hugetlb;
  if (index >= h[HUGETLB_NR_PAGES]!) return sigsegv;
  const pt = k.env.pt;
  const seq = k.env.seq;
  lockFile(k);
  const pudW = pudEntry(k.env, k.cpu, mmPgd(k, mm), va, true);
  if (pudW < 0) {
    unlockFile(k);
    return oom;
  }
  if ((readLo(pt, pudW) & PTE_P) === 0) {
    let table = hugePmdShare(k, mm, start);
    if (table < 0) {
      table = allocPgtablePage(k.env, k.cpu);
      if (table < 0) {
        unlockFile(k);
        return oom;
      }
      setPtOwner(k.views, ptSlotOf(k.frame, table), mm);
    }
    spinLock(k.mm, ptlAt(mm));
    setEntry(pt, seq, pudW, pteLo(table, TABLE_PROT), pteHi(table, 0));
    spinUnlock(k.mm, ptlAt(mm));
    kernelPoint(SITE_PTE_WRITE);
  }
  const lo = readLo(pt, pudW);
  const table = ptePfn(lo, readHi(pt, pudW));
  const slot = ptSlotOf(k.frame, table);
  const w = entryWord(slot, ptIndex(va, 2));
  // The huge PTE lock is the PMD table's own, so every sharer takes the same one.
  pteLock(k, slot);
  if ((readLo(pt, w) & PTE_P) === 0) {
    const head = h[HUGETLB_PFN + index]!;
    getPage(k, head);
    setEntry(pt, seq, w, pteLo(head, HUGE_PROT | PTE_PS), pteHi(head, HUGE_PROT));
    kernelPoint(SITE_PTE_WRITE);
  }
  pteUnlock(k, slot);
  unlockFile(k);
  return 0;
}

/** Heads unmapped by the last sharer, put after its flush (one CPU per worker thread). */
const unmapped = new Int32Array(PT_ENTRIES);

/**
 * munmap of the whole hugetlb VMA at `vma` of mm (__unmap_hugepage_range
 * and free_pgtables for it), mmap_lock held for write. Returns 0.
 *
 * - The table is shared: huge_pmd_unshare() clears our PUD entry and drops
 *   our reference; the whole PUD range is flushed before the file's lock
 *   is dropped (a4a118f2eead), since the last sharer may free the table
 *   as soon as we let go.
 * - We are its only user: its leaves and then our PUD entry are cleared,
 *   the range flushed (freed_tables), and the table freed; the pages keep
 *   the file's reference.
 */
export function hugetlbUnmapVma(k: KernelCtx, mm: number, vma: number): number {
  const h = k.views.hugetlb;
  const pt = k.env.pt;
  const seq = k.env.seq;
  const start = k.vma[vma + VMA_START]!;
  const end = k.vma[vma + VMA_END]!;
  const va = start * PAGE;
  lockFile(k);
  // unlink_file_vma(): out of the file's i_mmap first, so no fault of
  // another process shares through us from here on.
  for (let i = 0; i < HUGETLB_MAX_MAPPERS; i++) {
    if (h[HUGETLB_MAPPER_MM + i] === mm + 1 && h[HUGETLB_MAPPER_VPN + i] === start) h[HUGETLB_MAPPER_MM + i] = 0;
  }
  vmaErase(k, vma);
  const pudW = pudEntry(k.env, k.cpu, mmPgd(k, mm), va, false);
  if (pudW >= 0 && (readLo(pt, pudW) & PTE_P) !== 0) {
    const table = ptePfn(readLo(pt, pudW), readHi(pt, pudW));
    const refAt = table * FRAME_STRIDE + FR_REFCOUNT;
    if (Atomics.load(k.frame, refAt) > 1) {
      // huge_pmd_unshare()
      spinLock(k.mm, ptlAt(mm));
      clearEntry(pt, seq, pudW);
      spinUnlock(k.mm, ptlAt(mm));
      kernelPoint(SITE_PTE_WRITE);
      Atomics.sub(k.frame, refAt, 1);
      hugetlbTally.unshares++;
      if (injected[BUG_HUGETLB_UNSHARE_NO_FLUSH] === 0) flushTlbRange(k, mm, start, start + PUD_PAGES);
    } else {
      const slot = ptSlotOf(k.frame, table);
      let n = 0;
      pteLock(k, slot);
      for (let i = 0; i < PT_ENTRIES; i++) {
        const w = entryWord(slot, i);
        const lo = readLo(pt, w);
        if ((lo & PTE_P) === 0) continue;
        unmapped[n++] = ptePfn(lo, readHi(pt, w));
        clearEntry(pt, seq, w);
        kernelPoint(SITE_PTE_WRITE);
      }
      pteUnlock(k, slot);
      spinLock(k.mm, ptlAt(mm));
      clearEntry(pt, seq, pudW);
      spinUnlock(k.mm, ptlAt(mm));
      kernelPoint(SITE_PTE_WRITE);
      flushTlbRange(k, mm, start, end);
      tlbRemoveTableSync(k);
      for (let i = 0; i < n; i++) putPage(k, unmapped[i]!);
      // Ours now, whoever allocated it: the free checks our CPUs' caches.
      setPtOwner(k.views, slot, mm);
      freePgtablePage(k.env, k.cpu, table);
    }
  }
  unlockFile(k);
  return 0;
}

/** Is the VMA at `vma` a hugetlb mapping? */
export function isHugetlbVma(k: KernelCtx, vma: number): boolean {
  return (k.vma[vma + VMA_FLAGS]! & VM_HUGETLB) !== 0;
}
