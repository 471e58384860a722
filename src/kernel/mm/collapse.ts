// khugepaged's collapse of an anonymous range that still maps pages
// (mm/khugepaged.c collapse_huge_page(), with hpage_collapse_scan_pmd(),
// __collapse_huge_page_isolate() and __collapse_huge_page_copy()): the
// 512 pages of one 2 MiB-aligned range, whichever are present, are copied
// into one freshly allocated 2 MiB block (the rest of the block is zero),
// and the range is then mapped by a new PTE table over that block; the old
// pages and the old table are freed.
//
// Reduced: Linux maps the result with one PMD leaf and deposits the old
// table for a later split. We map it with PTEs (a "PTE-mapped THP"), so
// every other path of the emulated kernel keeps meeting 4 KiB PTEs. What
// the races depend on is the same: the PMD entry is cleared and flushed
// before the pages are checked and copied, and the old table is freed.
//
// mmap_lock is held for write (khugepagedScanMm), so faults, munmap,
// mprotect and MADV_DONTNEED of this mm wait, and the anonymous rmap
// walkers (NUMA migration) run under mmap_lock too. What does not wait is
// the hardware (TLBs and walks on every CPU) and get_user_pages_fast,
// which takes no lock at all (gup.ts). So, in order:
//
//   PMD lock:  clear the PMD entry (pmdp_collapse_flush) ...
//   unlocked:  ... and flush the range: no CPU can write the old pages
//              through a TLB entry any more, nor walk into the old table;
//              then an IPI round when the flush sent none
//              (tlb_remove_table_sync_one(), 2ba99c5e0881): a gup_fast
//              walk that read the old PMD entry with interrupts off has
//              finished before we look at the pages;
//   PTE lock:  every entry is none or a present page mapped only here,
//              with no other reference (a GUP pin makes it refcount 2):
//              otherwise the PMD entry is put back and nothing changed;
//   unlocked:  copy, map the new table, free the old pages and table.
//
// Without the IPI round (injectable as collapse-no-gup-sync: the INVLPGB
// variant's flush waits for nobody with interrupts off) a gup_fast walk
// that read the old PMD entry is still inside the old table when it is
// freed and reused: what it reads next is another table's entries
// (sw-walk-freed-table, walker gup_fast).

import { PTE_A, PTE_D, PTE_P, PTE_PS, PTE_RW, PTE_US, PT_ENTRIES, VM_WRITE } from '../../../native-layout/bits.js';
import { MM_ANON_PAGES, MM_STRIDE, VMA_END, VMA_FLAGS, VMA_START } from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import { ptOwnerOf, setPtOwner, swWalkStep } from '../../check/sw-walk.js';
import { WALK_COLLAPSE } from '../../check/walkers.js';
import { clearEntry, entryWord, ptSlotOf, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { pteHi, pteLo, ptePfn } from '../../hw/pte.js';
import { downWrite, upWrite } from '../../sync/rwsem.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import { countPageCopy } from '../account.js';
import type { KernelCtx } from '../ctx.js';
import { GFP_HIGHUSER_MOVABLE, __GFP_ZERO } from '../page_alloc/gfp.js';
import { splitPage } from '../page_alloc/split.js';
import { SITE_COLLAPSE_COPY, SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { flushTlbRange } from '../tlb/flush-mm.js';
import { tlbRemoveTableSync } from '../tlb/table-free.js';
import { isFilePage } from './filemap.js';
import { mmPgd, mmapLockAt, ptlAt } from './mm.js';
import { pageRefcount, putPage } from './page-ref.js';
import { allocPgtablePage, freePgtablePage } from './pgtable.js';
import { pmdEntryWord } from './pmd.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { vmaAt, vmaPrivateAnon } from './vma.js';

const PAGE = 4096;
/** HPAGE_PMD_ORDER: a 2 MiB block is 2^9 pages. */
export const HPAGE_PMD_ORDER = 9;
const HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER;
const BUG_COLLAPSE_NO_GUP_SYNC = BUG['collapse-no-gup-sync']!;

/** collapseHugePage results (mm/khugepaged.c's SCAN_* codes, the ones we can meet). */
export const SCAN_SUCCEED = 0;
/** No PTE table there (nothing mapped yet, or a 1 GiB/2 MiB leaf above). */
export const SCAN_PMD_NULL = 1;
/** No page present: nothing worth a 2 MiB block (max_ptes_none is 511). */
export const SCAN_NO_PTE = 2;
/** An entry that is not a plain present anonymous page (swap, migration or PROT_NONE entry, page-cache or COW page). */
export const SCAN_PTE_NON_PRESENT = 3;
/** A page has references besides its one mapping (a GUP pin, a migration under way). */
export const SCAN_PAGE_COUNT = 4;
/** No 2 MiB block (or no page-table page) free. */
export const SCAN_ALLOC_FAIL = 5;

/** The PTE rights of a collapsed page: as the area gives them, already dirty (as the PMD leaf the kernel installs). */
function collapsedProt(vmFlags: number): number {
  return PTE_P | PTE_US | PTE_A | PTE_D | ((vmFlags & VM_WRITE) !== 0 ? PTE_RW : 0);
}

/**
 * Is every entry of the PTE table in `slot` none or a present anonymous
 * page mapped once with no other reference? Returns how many are present,
 * or -SCAN_* (PTE lock held: hpage_collapse_scan_pmd() before, and
 * __collapse_huge_page_isolate() after, the PMD entry is cleared).
 */
function isolatePtes(k: KernelCtx, slot: number, vmFlags: number): number {
  const pt = k.env.pt;
  const writable = (vmFlags & VM_WRITE) !== 0;
  let present = 0;
  for (let i = 0; i < PT_ENTRIES; i++) {
    const w = entryWord(slot, i);
    const lo = readLo(pt, w);
    const hi = readHi(pt, w);
    if (lo === 0 && hi === 0) continue;
    // A PROT_NONE or migration entry is not P; a read-only PTE in a
    // writable area is a COW page shared with a fork: left alone.
    if ((lo & (PTE_P | PTE_US)) !== (PTE_P | PTE_US) || (writable && (lo & PTE_RW) === 0)) return -SCAN_PTE_NON_PRESENT;
    const page = ptePfn(lo, hi);
    if (isFilePage(k, page)) return -SCAN_PTE_NON_PRESENT;
    if (pageRefcount(k, page) !== 1) return -SCAN_PAGE_COUNT;
    present++;
  }
  return present === 0 ? -SCAN_NO_PTE : present;
}

/**
 * collapse_huge_page() for the 2 MiB-aligned range starting at vpn (a
 * multiple of 512) inside the anonymous VMA at `vma` (a k.vma index) of mm.
 * mmap_lock of mm must be held for write; interrupts on (the flush and the
 * IPI round wait for other CPUs). Returns SCAN_SUCCEED or the SCAN_* reason
 * it left the range as it was.
 */
export function collapseHugePage(k: KernelCtx, mm: number, vma: number, vpn: number): number {
  const pt = k.env.pt;
  const seq = k.env.seq;
  const va = vpn * PAGE;
  const vmFlags = k.vma[vma + VMA_FLAGS]!;
  const pmdW = pmdEntryWord(k, mmPgd(k, mm), va, WALK_COLLAPSE, mm);
  if (pmdW < 0) return SCAN_PMD_NULL;
  const pmdLo = readLo(pt, pmdW);
  const pmdHi = readHi(pt, pmdW);
  if ((pmdLo & PTE_P) === 0 || (pmdLo & PTE_PS) !== 0) return SCAN_PMD_NULL;
  const table = ptePfn(pmdLo, pmdHi);
  if (!swWalkStep(k, WALK_COLLAPSE, mm, va, 1, table)) return SCAN_PMD_NULL;
  const slot = ptSlotOf(k.frame, table);

  // hpage_collapse_scan_pmd(): worth it, and possible, before allocating.
  pteLock(k, slot);
  const scanned = isolatePtes(k, slot, vmFlags);
  pteUnlock(k, slot);
  if (scanned < 0) return -scanned;

  const hpage = k.alloc.allocPages(k.cpu, HPAGE_PMD_ORDER, GFP_HIGHUSER_MOVABLE | __GFP_ZERO);
  if (hpage < 0) return SCAN_ALLOC_FAIL;
  const newTable = allocPgtablePage(k.env, k.cpu);
  if (newTable < 0) {
    k.alloc.freePages(k.cpu, hpage, HPAGE_PMD_ORDER);
    return SCAN_ALLOC_FAIL;
  }
  const newSlot = ptSlotOf(k.frame, newTable);
  setPtOwner(k.views, newSlot, ptOwnerOf(k.views, slot));

  // pmdp_collapse_flush(): the old table leaves the tree, then every TLB
  // and paging-structure cache forgets it (flush_tlb_range says
  // freed_tables). The flush comes after the PMD lock is dropped, as the
  // retraction's (retract.ts): mmap_lock for write keeps every other
  // writer of this PMD entry out.
  spinLock(k.mm, ptlAt(mm));
  clearEntry(pt, seq, pmdW);
  spinUnlock(k.mm, ptlAt(mm));
  kernelPoint(SITE_PTE_WRITE);
  flushTlbRange(k, mm, vpn, vpn + HPAGE_PMD_NR);
  if (injected[BUG_COLLAPSE_NO_GUP_SYNC] === 0) tlbRemoveTableSync(k);

  // __collapse_huge_page_isolate(): again, now that nobody can map, pin
  // or write through the old table. A pin taken before the PMD entry was
  // cleared shows as a second reference here, and the collapse gives up.
  pteLock(k, slot);
  const present = isolatePtes(k, slot, vmFlags);
  pteUnlock(k, slot);
  if (present < 0) {
    spinLock(k.mm, ptlAt(mm));
    setEntry(pt, seq, pmdW, pmdLo, pmdHi);
    spinUnlock(k.mm, ptlAt(mm));
    kernelPoint(SITE_PTE_WRITE);
    freePgtablePage(k.env, k.cpu, newTable);
    k.alloc.freePages(k.cpu, hpage, HPAGE_PMD_ORDER);
    return -present;
  }

  // __collapse_huge_page_copy(): present pages are copied, none entries
  // stay zero (the block was allocated zeroed).
  kernelPoint(SITE_COLLAPSE_COPY);
  for (let i = 0; i < PT_ENTRIES; i++) {
    const w = entryWord(slot, i);
    const lo = readLo(pt, w);
    if ((lo & PTE_P) === 0) continue;
    k.copyUserPage(k, hpage + i, ptePfn(lo, readHi(pt, w)), true);
    countPageCopy(k);
  }
  splitPage(k.frame, hpage, HPAGE_PMD_ORDER);
  const prot = collapsedProt(vmFlags);
  for (let i = 0; i < PT_ENTRIES; i++) {
    setEntry(pt, seq, entryWord(newSlot, i), pteLo(hpage + i, prot), pteHi(hpage + i, prot));
  }
  spinLock(k.mm, ptlAt(mm));
  setEntry(pt, seq, pmdW, pteLo(newTable, PTE_P | PTE_RW | PTE_US), pteHi(newTable, 0));
  spinUnlock(k.mm, ptlAt(mm));
  kernelPoint(SITE_PTE_WRITE);
  Atomics.add(k.mm, mm * MM_STRIDE + MM_ANON_PAGES, HPAGE_PMD_NR - present);

  // The old pages had one reference, the mapping's; the old table is
  // unlinked, flushed, and (after the IPI round) walked by nobody.
  for (let i = 0; i < PT_ENTRIES; i++) {
    const w = entryWord(slot, i);
    const lo = readLo(pt, w);
    if (lo === 0 && readHi(pt, w) === 0) continue;
    const page = ptePfn(lo, readHi(pt, w));
    clearEntry(pt, seq, w);
    putPage(k, page);
  }
  freePgtablePage(k.env, k.cpu, table);
  return SCAN_SUCCEED;
}

/** What one khugepaged pass did: ranges collapsed, and ranges it looked at but left. */
export interface CollapseTally {
  collapsed: number;
  aborted: number;
}

/**
 * khugepaged_scan_mm_slot(), reduced: takes mmap_lock of mm for write and
 * tries collapseHugePage on every 2 MiB-aligned range that a collapsible
 * VMA covers whole (thp_vma_suitable_order()). Adds to `tally`.
 */
export function khugepagedCollapseMm(k: KernelCtx, mm: number, tally: CollapseTally): void {
  const lock = mmapLockAt(mm);
  downWrite(k.mm, lock);
  const v = k.vma;
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    const flags = v[at + VMA_FLAGS]!;
    if (flags === 0 || !vmaPrivateAnon(flags)) continue;
    const first = Math.ceil(v[at + VMA_START]! / HPAGE_PMD_NR) * HPAGE_PMD_NR;
    for (let vpn = first; vpn + HPAGE_PMD_NR <= v[at + VMA_END]!; vpn += HPAGE_PMD_NR) {
      const r = collapseHugePage(k, mm, at, vpn);
      if (r === SCAN_SUCCEED) tally.collapsed++;
      else if (r !== SCAN_PMD_NULL && r !== SCAN_NO_PTE) tally.aborted++;
    }
  }
  upWrite(k.mm, lock);
}
