// mremap's page-table half (mm/mremap.c move_page_tables() and
// move_ptes()): carry every PTE of [oldStart, oldStart + pages) over to the
// same offset from newStart, one PTE table at a time, allocating the
// destination tables as needed. Pages keep their references and the mm
// keeps its counters: a PTE changes address, not owner.
//
// The ordering that matters (CVE-2018-18281, fix eb66ae030829): a moved
// present PTE may still be cached at the OLD address on other CPUs, and
// from the moment the destination PTE lock is dropped nothing keeps the
// page alive but that new PTE. If the locks go first, truncation can
//   CPU 1 (mremap)            CPU 2 (ftruncate)            CPU 3
//   move PTE old -> new
//   unlock old + new PTL
//                             zap the NEW PTE (rmap),
//                             flush the new range only,
//                             free the page-cache page
//                                                          read old va:
//                                                          TLB hit -> freed frame
//   flush old range (too late)
// So the old range is flushed while both locks are still held.
//
// A step that covers a whole PTE table at both ends (old and new 2 MiB
// aligned, 512 pages left) moves the table itself: one PMD entry instead of
// 512 PTEs (move_normal_pmd(), "speed up mremap by 20x", 2c91bd4a4e2e). It
// holds only the PMD lock, not the table's PTE lock, so an rmap walker
// (truncation, reclaim) that found the table at the old address and locked
// it goes on using the old address after the table has moved:
//   CPU 1 (mremap)            CPU 2 (truncate, rmap)         CPU 3
//                             lock the table's PTL (old va)
//   PMD lock; move the entry;
//   flush the old range
//                                                            touch new va:
//                                                            TLB fills new va
//                             clear the PTE, flush OLD va,
//                             free the page
//                                                            TLB hit -> freed frame
// So a table move always holds the file's i_mmap lock for write, which
// rmap walkers take for read (CVE-2022-41222, fix 97113eb39fa7; the
// injectable mremap-pmd-no-rmap-lock takes it only when need_rmap_locks
// says so, as before the fix). A step that covers a whole PMD table at both
// ends (1 GiB aligned) moves that table by its PUD entry the same way
// (move_normal_pud()).

import { PTE_P, PTE_PS } from '../../../native-layout/bits.js';
import { BUG, injected } from '../../check/bugs.js';
import { clearEntry, entryWord, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';
import { flushTlbBatchedPending } from '../tlb/batch.js';
import { flushTlbRange } from '../tlb/flush-mm.js';
import { mmPgd, ptlAt } from './mm.js';
import { EEXIST, ENOMEM, pmdAlloc, pteAlloc, pudEntry } from './pgtable.js';
import { pmdEntryWord } from './pmd.js';
import { SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { iMmapLockWrite, iMmapUnlockWrite } from './rmap.js';
import { PTRS_PER_PTE, pteTableSlot } from './zap.js';

const PAGE = 4096;
/** Pages under one PUD entry (1 GiB): what a PMD table maps. */
const PUD_PAGES = PTRS_PER_PTE * PTRS_PER_PTE;
const BUG_MREMAP_FLUSH_AFTER_UNLOCK = BUG['mremap-flush-after-unlock']!;
const BUG_MREMAP_PMD_NO_RMAP_LOCK = BUG['mremap-pmd-no-rmap-lock']!;

/** moveNormalPmd outcomes besides ENOMEM. */
const PMD_MOVED = 1;
const PMD_NOT_MOVED = 0;

/**
 * What movePageTables needs to know of the area: its file (-1 anonymous),
 * whether an rmap walker may visit the destination before the source
 * (need_rmap_locks: then every step holds i_mmap for write, see mremap.ts),
 * and whether whole tables may move (not for an mshare area, whose tables
 * are the host's).
 */
export interface MoveArea {
  readonly file: number;
  readonly needRmapLocks: boolean;
  readonly tableMoves: boolean;
}

/** Internal fault: the destination of a move already held an entry. */
export class MovePtesError extends Error {
  override name = 'MovePtesError';
}

/**
 * move_page_tables(): moves the entries of `pages` pages from oldStart to
 * newStart (both page numbers) in mm. The destination range must map
 * nothing. `area` says which i_mmap lock to take (MoveArea). Returns the
 * pages covered; fewer than `pages` when a destination table could not be
 * allocated (the caller moves them back).
 */
export function movePageTables(k: KernelCtx, mm: number, oldStart: number, newStart: number, pages: number, area: MoveArea): number {
  const root = mmPgd(k, mm);
  const deferFlush = injected[BUG_MREMAP_FLUSH_AFTER_UNLOCK] !== 0;
  const rmapFile = area.needRmapLocks ? area.file : -1;
  let movedPresent = false;
  let done = 0;
  while (done < pages) {
    const oldVpn = oldStart + done;
    const newVpn = newStart + done;
    // A step stays inside one old and one new PTE table.
    // A whole PMD table at both ends (1 GiB aligned, 1 GiB left): its PUD entry moves.
    if (area.tableMoves && pages - done >= PUD_PAGES && oldVpn % PUD_PAGES === 0 && newVpn % PUD_PAGES === 0) {
      const r = moveNormalPud(k, mm, root, oldVpn, newVpn, area);
      if (r === ENOMEM) break;
      if (r === PMD_MOVED) {
        done += PUD_PAGES;
        continue;
      }
    }
    const len = Math.min(pages - done, PTRS_PER_PTE - (oldVpn % PTRS_PER_PTE), PTRS_PER_PTE - (newVpn % PTRS_PER_PTE));
    if (len === PTRS_PER_PTE && area.tableMoves) {
      const r = moveNormalPmd(k, mm, root, oldVpn, newVpn, area);
      if (r === ENOMEM) break;
      if (r === PMD_MOVED) {
        done += len;
        continue;
      }
    }
    // The old table cannot go away: tables are unlinked with mmap_lock held
    // for write (munmap, khugepaged), and we hold it.
    const oldSlot = pteTableSlot(k, root, oldVpn * PAGE);
    if (oldSlot >= 0) {
      const newSlot = allocNewPteTable(k, mm, root, newVpn);
      if (newSlot < 0) break;
      if (movePtes(k, mm, oldSlot, oldVpn, newSlot, newVpn, len, rmapFile, deferFlush)) movedPresent = true;
    }
    done += len;
  }
  if (deferFlush && movedPresent) {
    // The injected bug: the pre-2018 order, one flush of the whole old
    // range after every table's locks were dropped.
    flushTlbRange(k, mm, oldStart, oldStart + done);
  }
  return done;
}

/**
 * move_normal_pmd(): moves the PTE table mapping old page oldVpn (a whole
 * table: both addresses 2 MiB aligned) to newVpn by moving the PMD entry
 * that points to it, then flushes the old range (under the PMD lock, as
 * move_ptes flushes under the PTE locks, for the same reason). Falls back
 * (PMD_NOT_MOVED) when there is no table to move, a huge page maps the old
 * range, or a table already sits at the destination; ENOMEM when the
 * destination's upper tables could not be allocated.
 */
function moveNormalPmd(k: KernelCtx, mm: number, root: number, oldVpn: number, newVpn: number, area: MoveArea): number {
  const pt = k.env.pt;
  // With mmap_lock held for write, the old PMD entry cannot change under
  // us: faults, zaps and khugepaged's retraction all need that lock.
  const ow = pmdEntryWord(k, root, oldVpn * PAGE);
  if (ow < 0) return PMD_NOT_MOVED;
  const lo = readLo(pt, ow);
  if ((lo & PTE_P) === 0 || (lo & PTE_PS) !== 0) return PMD_NOT_MOVED;
  const ptl = ptlAt(mm);
  spinLock(k.mm, ptl);
  const nw = pmdAlloc(k.env, k.cpu, root, newVpn * PAGE);
  spinUnlock(k.mm, ptl);
  if (nw === EEXIST) return PMD_NOT_MOVED;
  if (nw < 0) return ENOMEM;
  if (readLo(pt, nw) !== 0 || readHi(pt, nw) !== 0) return PMD_NOT_MOVED;
  moveTableEntry(k, mm, ow, nw, oldVpn, PTRS_PER_PTE, area);
  return PMD_MOVED;
}

/**
 * The move itself, for a PMD or a PUD entry: old entry word ow to the
 * empty new one nw; then the old range of `pages` pages is flushed.
 */
function moveTableEntry(k: KernelCtx, mm: number, ow: number, nw: number, oldVpn: number, pages: number, area: MoveArea): void {
  const pt = k.env.pt;
  // take_rmap_locks(): always, for a table move (97113eb39fa7). The PTE
  // lock an rmap walker holds does not exclude us; i_mmap does.
  const rmapFile = area.file >= 0 && (area.needRmapLocks || injected[BUG_MREMAP_PMD_NO_RMAP_LOCK] === 0) ? area.file : -1;
  if (rmapFile >= 0) iMmapLockWrite(k, rmapFile);
  // pmd_lock()/pud_lock() of old and new: one page_table_lock per mm here.
  const ptl = ptlAt(mm);
  spinLock(k.mm, ptl);
  const hi = readHi(pt, ow);
  const entry = clearEntry(pt, k.env.seq, ow);
  kernelPoint(SITE_PTE_WRITE);
  setEntry(pt, k.env.seq, nw, entry, hi);
  // The old range's TLB and paging-structure entries still lead into the
  // table, and so to pages only the new address should reach: flushed
  // before anyone can act on the new address alone (freed_tables, as a
  // PMD zap: CVE-2025-22045).
  flushTlbRange(k, mm, oldVpn, oldVpn + pages);
  spinUnlock(k.mm, ptl);
  if (rmapFile >= 0) iMmapUnlockWrite(k, rmapFile);
}

/**
 * move_normal_pud(): moves the PMD table mapping the 1 GiB from old page
 * oldVpn (both addresses 1 GiB aligned) to newVpn by moving the PUD entry
 * that points to it (HAVE_MOVE_PUD, c49dd3401802), with the locks of
 * move_normal_pmd one level up: i_mmap for write for a file area (take_rmap_locks
 * covers PUD moves too: 97113eb39fa7), page_table_lock, and the old range
 * flushed before it is dropped. Falls back (PMD_NOT_MOVED) when there is
 * no PMD table to move, a 1 GiB leaf maps the old range, or one is already
 * linked at the destination; ENOMEM when the destination's PUD table could
 * not be allocated.
 */
function moveNormalPud(k: KernelCtx, mm: number, root: number, oldVpn: number, newVpn: number, area: MoveArea): number {
  const pt = k.env.pt;
  const ow = pudEntry(k.env, k.cpu, root, oldVpn * PAGE, false);
  if (ow < 0) return PMD_NOT_MOVED;
  const lo = readLo(pt, ow);
  if ((lo & PTE_P) === 0 || (lo & PTE_PS) !== 0) return PMD_NOT_MOVED;
  const ptl = ptlAt(mm);
  spinLock(k.mm, ptl);
  const nw = pudEntry(k.env, k.cpu, root, newVpn * PAGE, true);
  spinUnlock(k.mm, ptl);
  if (nw < 0) return nw === ENOMEM ? ENOMEM : PMD_NOT_MOVED;
  if (readLo(pt, nw) !== 0 || readHi(pt, nw) !== 0) return PMD_NOT_MOVED;
  moveTableEntry(k, mm, ow, nw, oldVpn, PUD_PAGES, area);
  return PMD_MOVED;
}

/**
 * alloc_new_pmd() + pte_alloc(): the destination PTE table, allocated if
 * missing under page_table_lock (as a fault does), or ENOMEM.
 */
function allocNewPteTable(k: KernelCtx, mm: number, root: number, vpn: number): number {
  const slot = pteTableSlot(k, root, vpn * PAGE);
  if (slot >= 0) return slot;
  const ptl = ptlAt(mm);
  spinLock(k.mm, ptl);
  const w = pteAlloc(k.env, k.cpu, root, vpn * PAGE);
  spinUnlock(k.mm, ptl);
  if (w < 0) return ENOMEM;
  return pteTableSlot(k, root, vpn * PAGE);
}

/**
 * move_ptes(): one PTE table's worth. Returns whether a present entry moved
 * (and so the old range needed a flush: done here, under the locks, unless
 * deferFlush).
 */
function movePtes(
  k: KernelCtx, mm: number, oldSlot: number, oldVpn: number, newSlot: number, newVpn: number, len: number,
  rmapFile: number, deferFlush: boolean,
): boolean {
  const pt = k.env.pt;
  const seq = k.env.seq;
  if (rmapFile >= 0) iMmapLockWrite(k, rmapFile);
  // Old lock, then new (move_ptes' spin_lock_nested): with mmap_lock held
  // for write no other mremap of this mm runs, and every other path holds
  // one PTE lock of an mm at a time (fork's second lock is a child's table
  // nobody else can reach yet), so the nesting cannot deadlock. Old and
  // new in one table: one lock.
  pteLock(k, oldSlot);
  if (newSlot !== oldSlot) pteLock(k, newSlot);
  // Reclaim may have cleared PTEs here and deferred their flush: a none
  // entry we skip may still be cached (writable) at the old address, and
  // with no present entry moved nothing below would flush it before
  // mremap returns and the caller treats the old range as gone.
  flushTlbBatchedPending(k, mm);
  let present = false;
  for (let i = 0; i < len; i++) {
    const ow = entryWord(oldSlot, (oldVpn + i) % PTRS_PER_PTE);
    if (readLo(pt, ow) === 0 && readHi(pt, ow) === 0) continue;
    const nw = entryWord(newSlot, (newVpn + i) % PTRS_PER_PTE);
    if (readLo(pt, nw) !== 0 || readHi(pt, nw) !== 0) {
      throw new MovePtesError(`CPU ${k.cpu}: mremap of mm ${mm} found page ${newVpn + i} already mapped`);
    }
    // Only the hardware writes this entry besides the PTL holder, and only
    // A/D in lo: hi is stable, lo comes back from the get-and-clear with
    // the A/D bits as last set, and moves with them.
    const hi = readHi(pt, ow);
    const lo = clearEntry(pt, seq, ow);
    if ((lo & PTE_P) !== 0) present = true;
    setEntry(pt, seq, nw, lo, hi);
  }
  if (present && !deferFlush) flushTlbRange(k, mm, oldVpn, oldVpn + len);
  if (newSlot !== oldSlot) pteUnlock(k, newSlot);
  pteUnlock(k, oldSlot);
  if (rmapFile >= 0) iMmapUnlockWrite(k, rmapFile);
  return present;
}
