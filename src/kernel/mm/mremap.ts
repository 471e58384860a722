// mremap(old, oldLen, newLen, MREMAP_MAYMOVE | MREMAP_FIXED, new)
// (mm/mremap.c mremap_to() and move_vma()), for anonymous and file-backed
// areas, with mmap_lock held for write:
//   1. whatever is mapped at the destination is unmapped (MREMAP_FIXED);
//   2. shrinking: the tail of the old range is unmapped first;
//   3. the old range is split off its area, and a new area with the same
//      flags and file (pgoff moved along) is inserted at the destination;
//   4. the PTEs move (move-ptes.ts), the old range flushed table by table
//      under the PTE locks; where both ranges cover a whole 2 MiB table,
//      the table itself moves (one PMD entry, under i_mmap for write);
//   5. the old range is unmapped: no PTE is left there, and the page
//      tables it emptied are freed through an mmu_gather (unmap-region.ts).
// Growing works too: the pages past the old length fault in at the
// destination. What is not supported: resizing in place (newStart inside
// or overlapping the old range is EINVAL, as the kernel says for
// overlapping MREMAP_FIXED ranges), an old range that is not inside one
// area (EFAULT), and a file area growing past the end of its file (EINVAL:
// the page cache has fixed-size files).
// Returns 0 (not the new address), or a negative errno.

import { FILE_NR_PAGES, VMA_FILE, VMA_PGOFF, VMA_START } from '../../../native-layout/fields.js';
import { downWrite, upWrite } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { mmapLockAt } from './mm.js';
import { type MoveArea, movePageTables } from './move-ptes.js';
import { VM_HUGETLB, VM_MSHARE } from '../../../native-layout/bits.js';
import { EINVAL, ENOMEM } from './pgtable.js';
import { unmapRegionLocked } from './unmap-region.js';
import { findVma, vmaEnd, vmaFlags, vmaInsert, vmaOverlaps, vmaSplitAt } from './vma.js';
import { countSyscall } from '../account.js';

export const EFAULT = -14;

/** Page numbers stay below 2^36 (48-bit addresses). */
const VPN_LIMIT = 2 ** 36;

/** Internal fault: moving the entries back after a failed move failed too. */
export class MremapError extends Error {
  override name = 'MremapError';
}

/** Moves pages [oldStart, oldStart + oldPages) of mm to newStart, resized to newPages. 0 or a negative errno. */
export function sysMremap(k: KernelCtx, mm: number, oldStart: number, oldPages: number, newPages: number, newStart: number): number {
  countSyscall(k);
  if (!validRange(oldStart, oldPages) || !validRange(newStart, newPages)) return EINVAL;
  if (oldStart < newStart + newPages && newStart < oldStart + oldPages) return EINVAL;
  const lock = mmapLockAt(mm);
  downWrite(k.mm, lock);
  const r = mremapTo(k, mm, oldStart, oldPages, newPages, newStart);
  upWrite(k.mm, lock);
  return r;
}

function validRange(start: number, pages: number): boolean {
  return Number.isInteger(start) && Number.isInteger(pages) && start >= 0 && pages > 0 && start + pages <= VPN_LIMIT;
}

function mremapTo(k: KernelCtx, mm: number, oldStart: number, oldPages: number, newPages: number, newStart: number): number {
  const vma = findVma(k, mm, oldStart);
  if (vma < 0 || vmaEnd(k, vma) < oldStart + oldPages) return EFAULT;
  // hugetlb areas move by their own rules in Linux (move_hugetlb_page_tables); ours do not move.
  if ((vmaFlags(k, vma) & VM_HUGETLB) !== 0) return EINVAL;
  const file = k.vma[vma + VMA_FILE];
  const pgoff = file >= 0 ? k.vma[vma + VMA_PGOFF] + (oldStart - k.vma[vma + VMA_START]) : 0;
  if (file >= 0 && pgoff + newPages > FILE_NR_PAGES) return EINVAL;
  if (vmaOverlaps(k, mm, newStart, newStart + newPages)) {
    const r = unmapRegionLocked(k, mm, newStart, newStart + newPages);
    if (r !== 0) return r;
  }
  const movePages = Math.min(oldPages, newPages);
  if (newPages < oldPages) {
    const r = unmapRegionLocked(k, mm, oldStart + newPages, oldStart + oldPages);
    if (r !== 0) return r;
  }
  return moveVma(k, mm, oldStart, movePages, newStart, newPages, file, pgoff);
}

/**
 * move_vma(): split the moving part off, copy_vma() it to the destination,
 * move the page tables, unmap the old part. A failed table allocation
 * moves the entries back (the old tables are all still there) and takes
 * the new area away again: ENOMEM with nothing changed.
 */
function moveVma(
  k: KernelCtx, mm: number, oldStart: number, pages: number, newStart: number, newPages: number, file: number, pgoff: number,
): number {
  const oldEnd = oldStart + pages;
  let r = vmaSplitAt(k, mm, oldStart);
  if (r === 0) r = vmaSplitAt(k, mm, oldEnd);
  if (r !== 0) return r;
  const oldAt = findVma(k, mm, oldStart);
  r = vmaInsert(k, mm, newStart, newStart + newPages, vmaFlags(k, oldAt), file, pgoff);
  if (r !== 0) return r;
  const newAt = findVma(k, mm, newStart);
  const moved = movePageTables(k, mm, oldStart, newStart, pages, moveArea(k, file, oldAt, newAt));
  if (moved < pages) {
    if (movePageTables(k, mm, newStart, oldStart, moved, moveArea(k, file, newAt, oldAt)) < moved) {
      throw new MremapError(`CPU ${k.cpu}: mremap of mm ${mm} could not move its entries back to page ${oldStart}`);
    }
    unmapRegionLocked(k, mm, newStart, newStart + newPages);
    return ENOMEM;
  }
  return unmapRegionLocked(k, mm, oldStart, oldEnd);
}

/**
 * need_rmap_locks (copy_vma()): an rmap walker (rmap.ts) visits an mm's
 * areas in slot order under i_mmap for read, taking one PTE lock at a
 * time. If it visits the destination first, it can find the entry not yet
 * moved there, then the source after the entry left: truncation would
 * miss a page it must unmap. Then the move holds i_mmap for write around
 * each table. With the source visited first the walker finds the entry in
 * one place or the other, and only the PTE locks are needed (the kernel's
 * usual case, where the new area sorts after the old in the i_mmap tree).
 * Whole PTE tables move only outside mshare areas, whose tables are the
 * host's and shared with other mms.
 */
function moveArea(k: KernelCtx, file: number, fromAt: number, toAt: number): MoveArea {
  return { file, needRmapLocks: file >= 0 && toAt < fromAt, tableMoves: (vmaFlags(k, fromAt) & VM_MSHARE) === 0 };
}
