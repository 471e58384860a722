// Pageblock isolation, as mm/page_isolation.c's set_migratetype_isolate()
// and unset_migratetype_isolate(), reduced: while a block is isolated its
// free pages sit on the isolate freetype's lists (of the block's own
// sensitivity), frees into it bypass the per-CPU lists (free.ts), so no
// allocation can take a page of it while someone empties it. Used by the
// flip's compaction (src/kernel/asi/compact.ts), as alloc_contig_range()
// isolates the range it migrates out of.

import {
  FRAME_ORDER_MASK as FRAME_ORDER_MASK_, FRAME_ORDER_SHIFT as FRAME_ORDER_SHIFT_, FRAME_STATE_MASK as FRAME_STATE_MASK_,
  FS_FREE_HEAD as FS_FREE_HEAD_, MIGRATE_ISOLATE as MIGRATE_ISOLATE_,
} from '../../../native-layout/bits.js';
import { FRAME_STRIDE as FRAME_STRIDE_, FR_FLAGS as FR_FLAGS_ } from '../../../native-layout/fields.js';
import { PAGEBLOCK_NR_PAGES as PAGEBLOCK_NR_PAGES_, PAGEBLOCK_ORDER as PAGEBLOCK_ORDER_ } from '../../../native-layout/shape.js';
import { freeOnePage } from './buddy.js';
import { accountFreepages, delFromFreeList } from './freelist.js';
import type { AllocCtx } from './ctx.js';
import { moveFreepagesBlock } from './fallback.js';
import { ftWithMigratetype } from './freetype.js';
import { getPageblockFreetype, getPageblockMigratetype, setPageblockMigratetype } from './pageblock.js';
import { zoneLock, zoneUnlock } from './zone.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const FRAME_ORDER_MASK = FRAME_ORDER_MASK_, FRAME_ORDER_SHIFT = FRAME_ORDER_SHIFT_, FRAME_STATE_MASK = FRAME_STATE_MASK_,
  FS_FREE_HEAD = FS_FREE_HEAD_, MIGRATE_ISOLATE = MIGRATE_ISOLATE_, FRAME_STRIDE = FRAME_STRIDE_, FR_FLAGS = FR_FLAGS_,
  PAGEBLOCK_NR_PAGES = PAGEBLOCK_NR_PAGES_, PAGEBLOCK_ORDER = PAGEBLOCK_ORDER_;

/**
 * Isolates pfn's pageblock: returns its migratetype before (to restore),
 * or -1 if it was isolated already (someone else is emptying it).
 */
export function isolatePageblock(ctx: AllocCtx, cpu: number, pfn: number): number {
  const saved = zoneLock(ctx, cpu);
  const mt = getPageblockMigratetype(ctx.pageblock, pfn);
  if (mt === MIGRATE_ISOLATE) {
    zoneUnlock(ctx, cpu, saved);
    return -1;
  }
  const ft = getPageblockFreetype(ctx.pageblock, pfn);
  moveFreepagesBlock(ctx, pfn, ftWithMigratetype(ft, MIGRATE_ISOLATE));
  setPageblockMigratetype(ctx.pageblock, pfn, MIGRATE_ISOLATE);
  zoneUnlock(ctx, cpu, saved);
  return mt;
}

/**
 * Ends isolation: the block gets migratetype mt back and its free pages
 * move to mt's lists. A block that is now wholly free is freed once more
 * so it coalesces with a free buddy (isolated blocks never merge across
 * pageblocks), as unset_migratetype_isolate() does.
 */
export function unisolatePageblock(ctx: AllocCtx, cpu: number, pfn: number, mt: number): void {
  const block = pfn - (pfn % PAGEBLOCK_NR_PAGES);
  const saved = zoneLock(ctx, cpu);
  const ft = ftWithMigratetype(getPageblockFreetype(ctx.pageblock, block), mt);
  moveFreepagesBlock(ctx, block, ft);
  setPageblockMigratetype(ctx.pageblock, block, mt);
  const flags = ctx.frame[block * FRAME_STRIDE + FR_FLAGS]!;
  if ((flags & FRAME_STATE_MASK) === FS_FREE_HEAD && ((flags & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT) === PAGEBLOCK_ORDER) {
    delFromFreeList(ctx.frame, ctx.zone, block, PAGEBLOCK_ORDER, ft);
    accountFreepages(ctx.zone, -PAGEBLOCK_NR_PAGES);
    freeOnePage(ctx, block, PAGEBLOCK_ORDER, ft, false);
  }
  zoneUnlock(ctx, cpu, saved);
}
