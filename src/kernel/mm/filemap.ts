// A minimal page cache (mm/filemap.c, reduced): FILE_MAX files of
// FILE_NR_PAGES pages each. A page is allocated on its first fault, filled
// from the file's backing store (one content word per page, written back by
// reclaim; 0 for a hole, which reads as zero), and held by the cache with
// one reference; every PTE that maps it holds one more (shared-file
// mappings, and read faults of private-file mappings). The slot lock is the
// i_pages lock: it serialises filling, looking up with a reference, and
// removing a slot.
//
// Pages leave the cache two ways, both of which unmap them from every mm
// first (rmap walk + flush: rmap.ts) and drop the cache's reference only
// after that: a stale TLB entry must not outlive the page.
// - truncation (truncate.ts): the page goes whatever its references, and
//   the range becomes a hole;
// - eviction by reclaim (vmscan.ts): written back if dirty, then removed
//   only if nobody but the cache and reclaim holds a reference (the
//   refcount freeze of __remove_mapping), so a fault that mapped the page
//   again meanwhile keeps it cached.
//
// A cache page's frame.private records which page it is (page->mapping and
// page->index, packed): -2 - (file * FILE_NR_PAGES + index).

import { FILE_DIRTY, FILE_DISK, FILE_MAX, FILE_NR_PAGES, FILE_LOCK, FILE_PAGES, FILE_STRIDE, FRAME_STRIDE, FR_CONTENT, FR_PRIVATE, FR_REFCOUNT } from '../../../native-layout/fields.js';
import { writeFrame } from '../../hw/frames.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';
import { GFP_HIGHUSER_MOVABLE, __GFP_ZERO } from '../page_alloc/gfp.js';
import { getPage } from './page-ref.js';
import { ENOMEM } from './pgtable.js';
import { countPageCopy } from '../account.js';

/** FR_PRIVATE of page-cache pages is at most this (user pages otherwise carry 0 there). */
export const PAGECACHE_MARK = -2;

export class FilemapError extends Error {
  override name = 'FilemapError';
}

function pageNo(file: number, index: number): number {
  if (!(Number.isInteger(file) && Number.isInteger(index) && file >= 0 && file < FILE_MAX && index >= 0 && index < FILE_NR_PAGES)) {
    throw new FilemapError(`file ${file} page ${index} is outside the page cache (${FILE_MAX} files of ${FILE_NR_PAGES} pages)`);
  }
  return file * FILE_STRIDE + index;
}

function slotAt(file: number, index: number): number {
  return pageNo(file, index) + FILE_PAGES;
}

function lockAt(file: number): number {
  return file * FILE_STRIDE + FILE_LOCK;
}

/** The cached page of (file, index) without creating it or taking a reference: pfn, or -1 (tests, checks). */
export function findFilePage(cache: Int32Array, file: number, index: number): number {
  return Atomics.load(cache, slotAt(file, index)) - 1;
}

/**
 * filemap_fault()'s lookup-or-create: the page cache page of (file, index)
 * with a reference taken for the caller (put it, or hand it to a PTE), or
 * ENOMEM. Looked up under the slot lock: eviction removes a page under the
 * same lock once its count shows no other user, so a page we find here
 * cannot be freed before our reference is counted.
 */
export function filemapGetPage(k: KernelCtx, file: number, index: number): number {
  const cache = k.views.file;
  const slot = slotAt(file, index);
  const lock = lockAt(file);
  spinLock(cache, lock);
  let pfn = Atomics.load(cache, slot) - 1;
  if (pfn >= 0) {
    getPage(k, pfn);
  } else {
    pfn = k.alloc.allocPages(k.cpu, 0, GFP_HIGHUSER_MOVABLE | __GFP_ZERO);
    if (pfn >= 0) {
      const disk = cache[pageNo(file, index) + FILE_DISK]! >>> 0;
      if (disk !== 0) writeFrame(k.frame, pfn, disk >>> 16, disk & 0xffff);
      k.frame[pfn * FRAME_STRIDE + FR_PRIVATE] = PAGECACHE_MARK - (file * FILE_NR_PAGES + index);
      // refcount 1 from the allocator is the cache's own; one more for the caller.
      getPage(k, pfn);
      Atomics.store(cache, slot, pfn + 1);
    }
  }
  spinUnlock(cache, lock);
  return pfn < 0 ? ENOMEM : pfn;
}

/** find_get_page(): the cached page with a reference taken, or -1 if none (nothing is created). */
export function findGetPage(k: KernelCtx, file: number, index: number): number {
  const cache = k.views.file;
  const lock = lockAt(file);
  spinLock(cache, lock);
  const pfn = Atomics.load(cache, slotAt(file, index)) - 1;
  if (pfn >= 0) getPage(k, pfn);
  spinUnlock(cache, lock);
  return pfn;
}

/** Whether pfn is a page-cache page (not anonymous). */
export function isFilePage(k: KernelCtx, pfn: number): boolean {
  return k.frame[pfn * FRAME_STRIDE + FR_PRIVATE] <= PAGECACHE_MARK;
}

/** page->mapping + page->index of a cache page, packed: file * FILE_NR_PAGES + index. */
export function filePageNo(k: KernelCtx, pfn: number): number {
  return PAGECACHE_MARK - k.frame[pfn * FRAME_STRIDE + FR_PRIVATE];
}

/**
 * folio_mark_dirty() for a page-cache page whose dirty PTE was just
 * cleared. A page truncated meanwhile (its slot emptied, or refilled with
 * another page) is no longer the file's: marking it would make a hole, or
 * someone else's page, look dirty, so the slot is checked under its lock
 * (Linux's folio_mark_dirty does nothing once folio->mapping is gone).
 */
export function markFilePageDirty(k: KernelCtx, pfn: number): void {
  const no = filePageNo(k, pfn);
  const file = Math.floor(no / FILE_NR_PAGES);
  const at = pageNo(file, no - file * FILE_NR_PAGES);
  const cache = k.views.file;
  const lock = lockAt(file);
  spinLock(cache, lock);
  if (Atomics.load(cache, at + FILE_PAGES) === pfn + 1) Atomics.store(cache, at + FILE_DIRTY, 1);
  spinUnlock(cache, lock);
}

export function filePageDirty(k: KernelCtx, file: number, index: number): boolean {
  return Atomics.load(k.views.file, pageNo(file, index) + FILE_DIRTY) !== 0;
}

/**
 * Writeback of a dirty page, reduced to its effect: the page becomes clean
 * and the backing store holds its content. The caller has flushed every TLB
 * entry that could still write the page (try_to_unmap_flush_dirty): a write
 * landing after the copy would be lost with the page.
 */
export function filemapWriteback(k: KernelCtx, file: number, index: number, pfn: number): void {
  const cache = k.views.file;
  const no = pageNo(file, index);
  Atomics.store(cache, no + FILE_DIRTY, 0);
  cache[no + FILE_DISK] = k.frame[pfn * FRAME_STRIDE + FR_CONTENT]!;
}

/**
 * __remove_mapping() for reclaim: takes the page out of its slot if the
 * slot still holds it, it is clean, and nobody but the cache and the caller
 * (expectRefs in all) holds a reference, freezing the count to 0 so that no
 * lookup can take one. The caller then frees the frame. false: left as is.
 */
export function removeMappingFrozen(k: KernelCtx, file: number, index: number, pfn: number, expectRefs: number): boolean {
  const cache = k.views.file;
  const no = pageNo(file, index);
  const lock = lockAt(file);
  spinLock(cache, lock);
  let ok = Atomics.load(cache, no + FILE_PAGES) === pfn + 1 && Atomics.load(cache, no + FILE_DIRTY) === 0;
  if (ok) ok = Atomics.compareExchange(k.frame, pfn * FRAME_STRIDE + FR_REFCOUNT, expectRefs, 0) === expectRefs;
  if (ok) Atomics.store(cache, no + FILE_PAGES, 0);
  spinUnlock(cache, lock);
  return ok;
}

/**
 * delete_from_page_cache() for truncation: takes pfn out of its slot (if
 * still there) whatever its other references, and makes the page a hole
 * in the file. true if it was removed: the caller then drops the cache's
 * reference.
 */
export function deleteFromPageCache(k: KernelCtx, file: number, index: number, pfn: number): boolean {
  const cache = k.views.file;
  const no = pageNo(file, index);
  const lock = lockAt(file);
  spinLock(cache, lock);
  const ok = Atomics.load(cache, no + FILE_PAGES) === pfn + 1;
  if (ok) {
    Atomics.store(cache, no + FILE_PAGES, 0);
    Atomics.store(cache, no + FILE_DIRTY, 0);
    cache[no + FILE_DISK] = 0;
  }
  spinUnlock(cache, lock);
  return ok;
}

/** Makes index a hole in the backing store (truncation of a page that was not cached). */
export function punchDisk(k: KernelCtx, file: number, index: number): void {
  const cache = k.views.file;
  const lock = lockAt(file);
  spinLock(cache, lock);
  if (Atomics.load(cache, slotAt(file, index)) === 0) cache[pageNo(file, index) + FILE_DISK] = 0;
  spinUnlock(cache, lock);
}

/** Every cached page (for the end-of-run check): calls fn(pfn). */
export function forEachCachePage(cache: Int32Array, fn: (pfn: number, file: number, index: number) => void): void {
  for (let file = 0; file < FILE_MAX; file++) {
    for (let i = 0; i < FILE_NR_PAGES; i++) {
      const v = cache[file * FILE_STRIDE + FILE_PAGES + i]!;
      if (v > 0) fn(v - 1, file, i);
    }
  }
}

/** Slots marked dirty with no page cached (for the end-of-run check): calls fn(file, index). */
export function forEachDirtyHole(cache: Int32Array, fn: (file: number, index: number) => void): void {
  for (let file = 0; file < FILE_MAX; file++) {
    for (let i = 0; i < FILE_NR_PAGES; i++) {
      const at = file * FILE_STRIDE + i;
      if (cache[at + FILE_DIRTY] !== 0 && cache[at + FILE_PAGES] === 0) fn(file, i);
    }
  }
}

/**
 * migrate_folio() for an unmapped page-cache page, reduced (compaction for
 * the sensitivity flip: src/kernel/asi/compact.ts). Under the slot lock,
 * if the slot still holds oldPfn and nobody but the cache holds a
 * reference (no PTE maps it, no reader has it: the count is frozen from 1
 * to 0, as folio_migrate_mapping() freezes it, so no lookup can take one
 * meanwhile), newPfn (allocated by the caller, refcount 1) takes its place
 * with the same content and identity. true: the caller frees oldPfn
 * (nothing can translate to it: a page with no mapping has had every TLB
 * entry for it flushed when its last PTE went). false: nothing changed.
 */
export function migrateCachePageFrozen(k: KernelCtx, file: number, index: number, oldPfn: number, newPfn: number): boolean {
  const cache = k.views.file;
  const no = pageNo(file, index);
  const lock = lockAt(file);
  spinLock(cache, lock);
  let ok = Atomics.load(cache, no + FILE_PAGES) === oldPfn + 1;
  if (ok) ok = Atomics.compareExchange(k.frame, oldPfn * FRAME_STRIDE + FR_REFCOUNT, 1, 0) === 1;
  if (ok) {
    const content = k.frame[oldPfn * FRAME_STRIDE + FR_CONTENT]! >>> 0;
    writeFrame(k.frame, newPfn, content >>> 16, content & 0xffff);
    countPageCopy(k);
    k.frame[newPfn * FRAME_STRIDE + FR_PRIVATE] = k.frame[oldPfn * FRAME_STRIDE + FR_PRIVATE]!;
    Atomics.store(cache, no + FILE_PAGES, newPfn + 1);
  }
  spinUnlock(cache, lock);
  return ok;
}
