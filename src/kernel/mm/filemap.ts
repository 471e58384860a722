// A minimal page cache (mm/filemap.c, reduced): FILE_MAX files of
// FILE_NR_PAGES pages each, all initially holes that read as zero. A page is
// allocated (zeroed) on its first fault and then held by the cache with one
// reference for the life of the machine; every PTE that maps it holds one
// more (shared-file mappings, and read faults of private-file mappings).
// The slot lock is the i_pages lock: it serialises filling a slot.
//
// No eviction or truncation yet. When they come, they belong here: remove
// the page from its slot under the lock, unmap it from every mm that maps
// it (rmap walk + flush, like unmap_mapping_range()), and only then drop
// the cache's reference: a stale TLB entry must not outlive the page.

import { FILE_MAX, FILE_NR_PAGES, FILE_LOCK, FILE_PAGES, FILE_STRIDE, FRAME_STRIDE, FR_PRIVATE } from '../../../native-layout/fields.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';
import { GFP_HIGHUSER_MOVABLE, __GFP_ZERO } from '../page_alloc/gfp.js';
import { ENOMEM } from './pgtable.js';

/** FR_PRIVATE of a page-cache page (user pages otherwise carry 0 there). */
export const PAGECACHE_MARK = -2;

export class FilemapError extends Error {
  override name = 'FilemapError';
}

function slotAt(file: number, index: number): number {
  if (!(file >= 0 && file < FILE_MAX && index >= 0 && index < FILE_NR_PAGES)) {
    throw new FilemapError(`file ${file} page ${index} is outside the page cache (${FILE_MAX} files of ${FILE_NR_PAGES} pages)`);
  }
  return file * FILE_STRIDE + FILE_PAGES + index;
}

/** The cached page of (file, index) without creating it: pfn, or -1. */
export function findFilePage(cache: Int32Array, file: number, index: number): number {
  return Atomics.load(cache, slotAt(file, index)) - 1;
}

/**
 * filemap_fault() for a hole-only file: the page cache page of (file,
 * index), allocated zeroed if absent. The caller takes its own reference
 * (for its PTE). The pfn, or ENOMEM.
 */
export function filemapGetPage(k: KernelCtx, file: number, index: number): number {
  const cache = k.views.file;
  const slot = slotAt(file, index);
  const have = Atomics.load(cache, slot);
  if (have > 0) return have - 1;
  const lock = file * FILE_STRIDE + FILE_LOCK;
  spinLock(cache, lock);
  let pfn = Atomics.load(cache, slot) - 1;
  if (pfn < 0) {
    pfn = k.alloc.allocPages(k.cpu, 0, GFP_HIGHUSER_MOVABLE | __GFP_ZERO);
    if (pfn >= 0) {
      // refcount 1 from the allocator: the cache's own reference.
      k.frame[pfn * FRAME_STRIDE + FR_PRIVATE] = PAGECACHE_MARK;
      Atomics.store(cache, slot, pfn + 1);
    }
  }
  spinUnlock(cache, lock);
  return pfn < 0 ? ENOMEM : pfn;
}

/** Whether pfn is a page-cache page (not anonymous). */
export function isFilePage(k: KernelCtx, pfn: number): boolean {
  return k.frame[pfn * FRAME_STRIDE + FR_PRIVATE] === PAGECACHE_MARK;
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
