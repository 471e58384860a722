// Compaction for the sensitivity flip: when no whole free pageblock of the
// other sensitivity exists, empty one by migrating what can be moved out of
// it, then let the flip retry. The 2026 unmapped-allocation series
// direct-compacts before failing (Babka's review of RFC v2: an order-0
// unmapped request failed because no whole pageblock was free), as
// mm/compaction.c's compact_zone() does for a high-order request: a
// migration scanner isolates movable pages of a block, a free scanner
// finds target pages elsewhere, migrate_pages() moves them.
//
// What this model can move safely, and so what it moves:
// - free frames need no moving (they are the block's already);
// - per-CPU cached frames are returned to the buddy (drain_all_pages) so
//   they can coalesce;
// - page-cache pages that no PTE maps and nobody holds: moved under the
//   file's slot lock with the reference count frozen
//   (filemap.ts migrateCachePageFrozen), so no lookup or fault can take
//   them meanwhile; nothing translates to them, so no flush is needed.
// What it does not move (the block is then skipped): mapped user pages
// (migration would need the rmap walk, PTE replacement and a flush of
// every mm that maps them; Linux does it, this model does not yet),
// page tables and other unmovable kernel memory.
//
// The scan is racy, like the kernel's (it reads frame states without the
// zone lock): it only chooses candidates; every move is revalidated under
// the lock that guards it.

import {
  FRAME_F_HEAD, FRAME_ORDER_MASK, FRAME_ORDER_SHIFT, FRAME_STATE_MASK, FS_ALLOCATED, FS_FREE_HEAD, FS_FREE_TAIL,
  FS_PCP, MIGRATE_ISOLATE, PB_ISOLATE, PB_MIGRATE_MASK, PB_NONSENSITIVE,
} from '../../../native-layout/bits.js';
import { FILE_NR_PAGES, FRAME_STRIDE, FR_FLAGS, FR_REFCOUNT } from '../../../native-layout/fields.js';
import { PAGEBLOCK_NR_PAGES } from '../../../native-layout/shape.js';
import type { KernelCtx } from '../ctx.js';
import { filePageNo, isFilePage, migrateCachePageFrozen } from '../mm/filemap.js';
import { GFP_NOWAIT, __GFP_MOVABLE, __GFP_SENSITIVE } from '../page_alloc/gfp.js';
import { PageAllocator } from '../page_alloc/index.js';
import { pageblockFlags } from '../page_alloc/pageblock.js';
import { isolatePageblock, unisolatePageblock } from '../page_alloc/isolate.js';

/** Target pages come from the same lane and never flip (non-blocking: no recursion into the flip path). */
const GFP_MIGRATE_TARGET_SENSITIVE = GFP_NOWAIT | __GFP_MOVABLE | __GFP_SENSITIVE;
const GFP_MIGRATE_TARGET_NONSENSITIVE = GFP_NOWAIT | __GFP_MOVABLE;
/** Blocks whose used frames are more than this are not worth emptying. */
const MAX_MOVES = PAGEBLOCK_NR_PAGES / 4;

/**
 * The best candidate of lane ns: every used frame an unmapped page-cache
 * page, as few of them as possible. -1 if none.
 */
function pickBlock(k: KernelCtx, ns: number): number {
  const frame = k.frame;
  const pb = k.views.pageblock;
  let best = -1;
  let bestMoves = MAX_MOVES + 1;
  for (let block = 0; block < k.env.frames; block += PAGEBLOCK_NR_PAGES) {
    const flags = pageblockFlags(pb, block);
    if (((flags & PB_NONSENSITIVE) !== 0 ? 1 : 0) !== ns) continue;
    if ((flags & PB_ISOLATE) !== 0 || (flags & PB_MIGRATE_MASK) === MIGRATE_ISOLATE) continue;
    let moves = 0;
    let ok = true;
    for (let p = block; p < block + PAGEBLOCK_NR_PAGES && ok;) {
      const f = frame[p * FRAME_STRIDE + FR_FLAGS]!;
      const state = f & FRAME_STATE_MASK;
      if (state === FS_FREE_HEAD) {
        p += 1 << ((f & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT);
        continue;
      }
      if (state === FS_FREE_TAIL || state === FS_PCP) {
        p++;
        continue;
      }
      if (state === FS_ALLOCATED && (f & FRAME_F_HEAD) !== 0 && ((f & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT) === 0
        && isFilePage(k, p) && Atomics.load(frame, p * FRAME_STRIDE + FR_REFCOUNT) === 1) {
        moves++;
        p++;
        continue;
      }
      ok = false;
    }
    if (ok && moves > 0 && moves < bestMoves) {
      best = block;
      bestMoves = moves;
    }
  }
  return best;
}

/**
 * compact_zone() for one pageblock of lane ns (0 sensitive, 1
 * nonsensitive): drain every CPU's lists, then migrate each unmapped
 * page-cache page of the best candidate block out of it. mt is the
 * migratetype the flip wants (unused by the scan: any movable-only block
 * will do). true when every page the scan chose was moved (the block should
 * now be wholly free; the caller retries the flip, which may still lose the
 * block to another CPU).
 */
export function compactForFlip(k: KernelCtx, ns: number, _mt: number): boolean {
  const alloc = k.alloc;
  if (!(alloc instanceof PageAllocator)) return false;
  const ctx = alloc.ctx;
  alloc.drainAllPages(k.cpu);
  const block = pickBlock(k, ns);
  if (block < 0) return false;
  // Isolate first: targets must come from elsewhere, and a page freed into
  // the block meanwhile must stay in it (isolated blocks bypass the pcp).
  const mt = isolatePageblock(ctx, k.cpu, block);
  if (mt < 0) return false;
  alloc.drainAllPages(k.cpu);
  const gfp = ns === 1 ? GFP_MIGRATE_TARGET_NONSENSITIVE : GFP_MIGRATE_TARGET_SENSITIVE;
  const frame = k.frame;
  let all = true;
  for (let p = block; p < block + PAGEBLOCK_NR_PAGES && all; p++) {
    const f = frame[p * FRAME_STRIDE + FR_FLAGS]!;
    if ((f & FRAME_STATE_MASK) === FS_FREE_HEAD || (f & FRAME_STATE_MASK) === FS_FREE_TAIL) continue;
    if ((f & FRAME_STATE_MASK) !== FS_ALLOCATED || (f & FRAME_F_HEAD) === 0 || !isFilePage(k, p)) {
      all = false;
      break;
    }
    const target = alloc.allocPages(k.cpu, 0, gfp);
    if (target < 0) {
      all = false;
      break;
    }
    const no = filePageNo(k, p);
    const file = Math.floor(no / FILE_NR_PAGES);
    if (migrateCachePageFrozen(k, file, no - file * FILE_NR_PAGES, p, target)) {
      alloc.freePages(k.cpu, p, 0);
    } else {
      alloc.freePages(k.cpu, target, 0);
      all = false;
    }
  }
  unisolatePageblock(ctx, k.cpu, block, mt);
  return all;
}
