// Truncating a range of a page-cache file (mm/truncate.c
// truncate_inode_pages_range() with mm/memory.c unmap_mapping_range(), as
// ftruncate shrinking the file and growing it back, or a hole punch): every
// cached page in the range is unmapped from every mm that maps it and
// dropped from the cache; the range then reads as zero (a hole).
//
// Per page the order is the one that keeps a stale TLB entry from outliving
// the page:
//   1. under i_mmap (read), for each mapping: clear the PTE under its lock
//      into an mmu_gather of that mm, flush that range on every CPU of the
//      mm (before the unlock when the PTE was dirty, as zap_pte_range
//      does), and only then drop the PTE's reference (zap_page_range_single);
//   2. take the page out of its slot (under the slot lock), after which no
//      lookup finds it;
//   3. drop the cache's reference: the last reference frees the frame.
// A fault that looked the page up before step 2 holds a reference and the
// PTE lock until its PTE is set; if the count says one is in flight, step 1
// runs again after step 2 and catches that mapping (truncate_pagecache's
// second unmap_mapping_range, which is there for the same race).
//
// Private mappings keep their copy-on-write copies (anonymous pages, other
// frames): only PTEs that map the cache page itself are zapped (Linux
// zaps private copies too only when asked to, even_cows).

import { FILE_MAX, FILE_NR_PAGES } from '../../../native-layout/fields.js';
import { PTE_D, PTE_P } from '../../../native-layout/bits.js';
import { BUG, injected } from '../../check/bugs.js';
import { clearEntry, entryWord, readHi, readLo } from '../../hw/ptstore.js';
import { ptePfn } from '../../hw/pte.js';
import type { KernelCtx } from '../ctx.js';
import { flushTlbBatchedPending } from '../tlb/batch.js';
import { deleteFromPageCache, findGetPage, punchDisk } from './filemap.js';
import { tlbFinishMmu, tlbFlushMmuTlbonly, tlbGatherMmu, tlbRemovePage } from './gather.js';
import { pageRefcount, putPage } from './page-ref.js';
import { EINVAL } from './pgtable.js';
import { iMmapLockRead, iMmapUnlockRead, lockPteOf, rmapWalkFile, unlockPteOf } from './rmap.js';
import { PTRS_PER_PTE } from './zap.js';

const BUG_ZAP_DIRTY_FLUSH_AFTER_UNLOCK = BUG['zap-dirty-flush-after-unlock']!;

/** References a page being truncated holds with no fault in flight: the cache's and ours. */
const TRUNCATE_REFS = 2;

/**
 * zap_page_range_single() for the one PTE of mm at vpn, if it maps pfn:
 * cleared into a gather of mm, flushed on mm's CPUs (that page only), then
 * the PTE's reference dropped. Returns whether it was mapped there.
 */
export function zapMappingPte(k: KernelCtx, mm: number, vpn: number, pfn: number): boolean {
  const g = tlbGatherMmu(k, mm, false);
  let zapped = false;
  const slot = lockPteOf(k, mm, vpn);
  if (slot >= 0) {
    // zap_pte_range: a PTE reclaim cleared and has not flushed is none
    // here, but may still be cached; our flush below would not cover it.
    flushTlbBatchedPending(k, mm);
    const pt = k.env.pt;
    const w = entryWord(slot, vpn & (PTRS_PER_PTE - 1));
    const lo = readLo(pt, w);
    let dirty = false;
    if ((lo & PTE_P) !== 0 && ptePfn(lo, readHi(pt, w)) === pfn) {
      dirty = (clearEntry(pt, k.env.seq, w) & PTE_D) !== 0;
      tlbRemovePage(g, pfn, vpn);
      zapped = true;
    }
    // A dirty shared PTE is flushed before the unlock, as zap_pte_range
    // forces it (zap.ts, 1cf35d47712d; injectable as zap-dirty-flush-after-unlock).
    const flushLate = dirty && injected[BUG_ZAP_DIRTY_FLUSH_AFTER_UNLOCK] !== 0;
    if (dirty && !flushLate) tlbFlushMmuTlbonly(k, g);
    unlockPteOf(k, mm, vpn, slot);
  }
  tlbFinishMmu(k, g);
  return zapped;
}

/** unmap_mapping_folio(): every PTE of every mm that maps page index of file (= pfn). Returns how many. */
export function unmapMappingPage(k: KernelCtx, file: number, index: number, pfn: number): number {
  let n = 0;
  iMmapLockRead(k, file);
  rmapWalkFile(k, file, index, (mm, vpn) => {
    if (zapMappingPte(k, mm, vpn, pfn)) n++;
  });
  iMmapUnlockRead(k, file);
  return n;
}

/**
 * Truncates pages [fromIndex, toIndex) of file: each cached page is
 * unmapped everywhere, flushed, removed and freed (once nobody else holds
 * it); the whole range becomes a hole. Returns the pages removed from the
 * cache, or EINVAL for a range outside the file.
 */
export function truncateFileRange(k: KernelCtx, file: number, fromIndex: number, toIndex: number): number {
  if (!(Number.isInteger(file) && file >= 0 && file < FILE_MAX && Number.isInteger(fromIndex) && Number.isInteger(toIndex)
    && fromIndex >= 0 && fromIndex <= toIndex && toIndex <= FILE_NR_PAGES)) return EINVAL;
  let removed = 0;
  for (let index = fromIndex; index < toIndex; index++) {
    const pfn = findGetPage(k, file, index);
    if (pfn < 0) {
      punchDisk(k, file, index);
      continue;
    }
    unmapMappingPage(k, file, index, pfn);
    if (deleteFromPageCache(k, file, index, pfn)) {
      if (pageRefcount(k, pfn) > TRUNCATE_REFS) unmapMappingPage(k, file, index, pfn);
      putPage(k, pfn);
      removed++;
    }
    putPage(k, pfn);
  }
  return removed;
}
