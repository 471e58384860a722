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

import { PTE_P } from '../../../native-layout/bits.js';
import { BUG, injected } from '../../check/bugs.js';
import { clearEntry, entryWord, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';
import { flushTlbBatchedPending } from '../tlb/batch.js';
import { flushTlbRange } from '../tlb/flush-mm.js';
import { mmPgd, ptlAt } from './mm.js';
import { ENOMEM, pteAlloc } from './pgtable.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { iMmapLockWrite, iMmapUnlockWrite } from './rmap.js';
import { PTRS_PER_PTE, pteTableSlot } from './zap.js';

const PAGE = 4096;
const BUG_MREMAP_FLUSH_AFTER_UNLOCK = BUG['mremap-flush-after-unlock']!;

/** Internal fault: the destination of a move already held an entry. */
export class MovePtesError extends Error {
  override name = 'MovePtesError';
}

/**
 * move_page_tables(): moves the entries of `pages` pages from oldStart to
 * newStart (both page numbers) in mm. The destination range must map
 * nothing. rmapFile >= 0 takes that file's i_mmap lock for write around
 * each table's move (need_rmap_locks: see mremap.ts). Returns the pages
 * covered; fewer than `pages` when a destination table could not be
 * allocated (the caller moves them back).
 */
export function movePageTables(k: KernelCtx, mm: number, oldStart: number, newStart: number, pages: number, rmapFile: number): number {
  const root = mmPgd(k, mm);
  const deferFlush = injected[BUG_MREMAP_FLUSH_AFTER_UNLOCK] !== 0;
  let movedPresent = false;
  let done = 0;
  while (done < pages) {
    const oldVpn = oldStart + done;
    const newVpn = newStart + done;
    // A step stays inside one old and one new PTE table.
    const len = Math.min(pages - done, PTRS_PER_PTE - (oldVpn % PTRS_PER_PTE), PTRS_PER_PTE - (newVpn % PTRS_PER_PTE));
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
