// kcompactd's migration of in-use pages (mm/compaction.c
// isolate_migratepages_block() + migrate_pages() with MIGRATE_ASYNC),
// reduced: a kernel thread that moves the anonymous pages of a range of
// some process to new frames, each through the migration-entry protocol
// of migrate.ts (ptep_clear_flush, a migration entry while the copy runs,
// then the new page mapped and the old one freed). Other CPUs may be
// writing those pages the whole time; the flush before the copy is what
// keeps their writes from landing in the old copy.
//
// Reduced: Linux scans physical frames and finds their mappings through
// the reverse map; our anonymous pages have none, so the thread walks one
// mm's page tables over a range instead, under that mm's mmap_lock for
// read (as change_prot_numa does), and moves only pages mapped once.

import { PTE_P, PTE_US } from '../../../native-layout/bits.js';
import { VMA_END, VMA_FLAGS } from '../../../native-layout/fields.js';
import { WALK_COMPACT } from '../../check/walkers.js';
import { entryWord, ptSlotOf, readHi, readLo } from '../../hw/ptstore.js';
import { ptePfn } from '../../hw/pte.js';
import { downRead, upRead } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { isFilePage } from './filemap.js';
import { migratePresentPage } from './migrate.js';
import { mmPgd, mmapLockAt } from './mm.js';
import { pageRefcount } from './page-ref.js';
import { findVma, vmaPrivateAnon } from './vma.js';
import { PTRS_PER_PTE, pteTablePfn } from './zap.js';

const PAGE = 4096;

/**
 * Moves every present anonymous page mapped once in [start, start + pages)
 * of mm (clipped to the VMA at start, which must be private anonymous
 * memory) to a new frame. Takes mmap_lock of mm for read; interrupts on
 * (each move flushes). Returns the pages moved.
 */
export function compactRange(k: KernelCtx, mm: number, start: number, pages: number): number {
  const lock = mmapLockAt(mm);
  downRead(k.mm, lock);
  const vma = findVma(k, mm, start);
  if (vma < 0 || !vmaPrivateAnon(k.vma[vma + VMA_FLAGS]!)) {
    upRead(k.mm, lock);
    return 0;
  }
  const end = Math.min(start + pages, k.vma[vma + VMA_END]!);
  const root = mmPgd(k, mm);
  const pt = k.env.pt;
  let moved = 0;
  let vpn = start;
  while (vpn < end) {
    const chunkEnd = Math.min(end, (Math.floor(vpn / PTRS_PER_PTE) + 1) * PTRS_PER_PTE);
    // The table stays: tables under a VMA go only with mmap_lock for write.
    const table = pteTablePfn(k, root, vpn * PAGE, WALK_COMPACT, mm);
    if (table >= 0) {
      const slot = ptSlotOf(k.frame, table);
      for (let v = vpn; v < chunkEnd; v++) {
        const w = entryWord(slot, v % PTRS_PER_PTE);
        const lo = readLo(pt, w);
        if ((lo & (PTE_P | PTE_US)) !== (PTE_P | PTE_US)) continue;
        const hi = readHi(pt, w);
        const page = ptePfn(lo, hi);
        // isolate_migratepages_block's cheap checks, unlocked; the move rechecks under the PTE lock.
        if (page >= k.env.frames || isFilePage(k, page) || pageRefcount(k, page) !== 1) continue;
        if (migratePresentPage(k, mm, slot, w, v, lo, hi)) moved++;
      }
    }
    vpn = chunkEnd;
  }
  upRead(k.mm, lock);
  return moved;
}
