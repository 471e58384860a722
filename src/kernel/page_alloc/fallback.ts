// Falling back to another migratetype's free lists when the requested one is
// empty (mm/page_alloc.c, 2025 form): __rmqueue_claim takes the largest
// suitable block and tries to convert its whole pageblock to the requested
// type; __rmqueue_steal takes the smallest one and leaves the pageblock type
// alone. Fallbacks never change sensitivity: candidates are (fallback mt,
// same lane). Zone lock held throughout.

import {
  FRAME_ORDER_MASK as FRAME_ORDER_MASK_, FRAME_ORDER_SHIFT as FRAME_ORDER_SHIFT_, FRAME_PCP_FT_MASK as FRAME_PCP_FT_MASK_,
  FRAME_PCP_FT_SHIFT as FRAME_PCP_FT_SHIFT_, FRAME_STATE_MASK as FRAME_STATE_MASK_, FS_ALLOCATED as FS_ALLOCATED_, FS_FREE_HEAD as FS_FREE_HEAD_,
  MIGRATE_MOVABLE as MIGRATE_MOVABLE_, MIGRATE_PCPTYPES as MIGRATE_PCPTYPES_, MIGRATE_RECLAIMABLE as MIGRATE_RECLAIMABLE_,
  MIGRATE_TYPES as MIGRATE_TYPES_, MIGRATE_UNMOVABLE as MIGRATE_UNMOVABLE_, NR_FREETYPES as NR_FREETYPES_,
} from '../../../native-layout/bits.js';
import { C as C_ } from '../../../native-layout/counters.js';
import {
  COUNTERS_STRIDE as COUNTERS_STRIDE_, FRAME_STRIDE as FRAME_STRIDE_, FR_FLAGS as FR_FLAGS_, ZONE_FREE_HEAD as ZONE_FREE_HEAD_,
  ZONE_NR_FREE as ZONE_NR_FREE_,
} from '../../../native-layout/fields.js';
import {
  MAX_PAGE_ORDER as MAX_PAGE_ORDER_, PAGEBLOCK_NR_PAGES as PAGEBLOCK_NR_PAGES_, PAGEBLOCK_ORDER as PAGEBLOCK_ORDER_,
} from '../../../native-layout/shape.js';
import { BUG, injected } from '../../check/bugs.js';
import { expand, pageDelAndExpand, rmqueueSmallest } from './buddy.js';
import type { AllocCtx } from './ctx.js';
import { accountFreepages, delFromFreeList, moveToFreeList } from './freelist.js';
import { ftMigratetype, ftWithMigratetype } from './freetype.js';
import { clearPageBuddy } from './page.js';
import { changePageblockRange, setPageblockMigratetype } from './pageblock.js';
import { ALLOC_NOFRAGMENT } from './gfp.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const FRAME_ORDER_MASK = FRAME_ORDER_MASK_, FRAME_ORDER_SHIFT = FRAME_ORDER_SHIFT_, FRAME_PCP_FT_MASK = FRAME_PCP_FT_MASK_,
  FRAME_PCP_FT_SHIFT = FRAME_PCP_FT_SHIFT_, FRAME_STATE_MASK = FRAME_STATE_MASK_, FS_ALLOCATED = FS_ALLOCATED_, FS_FREE_HEAD = FS_FREE_HEAD_,
  MIGRATE_MOVABLE = MIGRATE_MOVABLE_, MIGRATE_PCPTYPES = MIGRATE_PCPTYPES_, MIGRATE_RECLAIMABLE = MIGRATE_RECLAIMABLE_,
  MIGRATE_TYPES = MIGRATE_TYPES_, MIGRATE_UNMOVABLE = MIGRATE_UNMOVABLE_, NR_FREETYPES = NR_FREETYPES_, C = C_, COUNTERS_STRIDE = COUNTERS_STRIDE_,
  FRAME_STRIDE = FRAME_STRIDE_, FR_FLAGS = FR_FLAGS_, ZONE_FREE_HEAD = ZONE_FREE_HEAD_, ZONE_NR_FREE = ZONE_NR_FREE_,
  MAX_PAGE_ORDER = MAX_PAGE_ORDER_, PAGEBLOCK_NR_PAGES = PAGEBLOCK_NR_PAGES_, PAGEBLOCK_ORDER = PAGEBLOCK_ORDER_;

const BUG_CLAIM_STRICT_GT = BUG['claim-strict-gt']!;
const BUG_STEAL_RETYPES_BLOCK = BUG['steal-retypes-block']!;
const BUG_SUBBLOCK_CROSS_SENSITIVITY_FALLBACK = BUG['subblock-cross-sensitivity-fallback']!;
const CNT_FALLBACK_CLAIMS = C.fallbackClaims;
const CNT_FALLBACK_STEALS = C.fallbackSteals;

/**
 * The fallback table, tried in order. HIGHATOMIC and ISOLATE have no row and
 * appear in none: their blocks are never taken by another type's request.
 */
export const FALLBACKS: readonly (readonly number[])[] = [
  /* MIGRATE_UNMOVABLE   */ [MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE],
  /* MIGRATE_MOVABLE     */ [MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE],
  /* MIGRATE_RECLAIMABLE */ [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE],
];

/** Free + alike frames a pageblock needs before a partial claim converts it. */
export const CLAIM_THRESHOLD = PAGEBLOCK_NR_PAGES >> 1;

/**
 * should_try_claim_block(): large blocks are always worth converting; small
 * unmovable and reclaimable requests too, because scattering them through
 * movable blocks is what makes fragmentation permanent. A small movable
 * request just steals.
 */
export function shouldTryClaimBlock(order: number, startMt: number): boolean {
  if (order >= PAGEBLOCK_ORDER) return true;
  if (order >= PAGEBLOCK_ORDER >> 1) return true;
  return startMt === MIGRATE_UNMOVABLE || startMt === MIGRATE_RECLAIMABLE;
}

/**
 * find_suitable_fallback(): the first fallback freetype with a free block at
 * this order, -1 if none, -2 if claiming should stop scanning (orders only
 * get smaller from here).
 */
export function findSuitableFallback(ctx: AllocCtx, order: number, ft: number, claimable: boolean): number {
  const mt = ftMigratetype(ft);
  if (mt >= MIGRATE_PCPTYPES) return -1;
  if (claimable && !shouldTryClaimBlock(order, mt)) return -2;
  const zone = ctx.zone;
  if (zone[ZONE_NR_FREE + order] === 0) return -1;
  const row = FALLBACKS[mt]!;
  for (let i = 0; i < row.length; i++) {
    const fft = ftWithMigratetype(ft, row[i]!);
    if (zone[ZONE_FREE_HEAD + order * NR_FREETYPES + fft] >= 0) return fft;
  }
  // Injected fault: a steal below pageblock order falls back to the other
  // sensitivity's lists, handing out part of a block whose physmap mapping
  // says the opposite (sensitivity may change only for whole pageblocks,
  // in the flip path).
  if (injected[BUG_SUBBLOCK_CROSS_SENSITIVITY_FALLBACK] && !claimable && order < PAGEBLOCK_ORDER) {
    const other = ft >= MIGRATE_TYPES ? ft - MIGRATE_TYPES : ft + MIGRATE_TYPES;
    if (zone[ZONE_FREE_HEAD + order * NR_FREETYPES + other] >= 0) return other;
    for (let i = 0; i < row.length; i++) {
      const fft = ftWithMigratetype(other, row[i]!);
      if (zone[ZONE_FREE_HEAD + order * NR_FREETYPES + fft] >= 0) return fft;
    }
  }
  return -1;
}

export interface BlockCensus {
  free: number;
  movable: number;
}

/**
 * prep_move_freepages_block(): count free frames (buddy blocks) and frames
 * in use by movable allocations (the kernel's PageLRU / movable_ops test;
 * here the allocation's freetype tag) in the pageblock containing pfn.
 */
export function pageblockCensus(ctx: AllocCtx, pfn: number): BlockCensus {
  const frame = ctx.frame;
  const start = pfn & ~(PAGEBLOCK_NR_PAGES - 1);
  const end = start + PAGEBLOCK_NR_PAGES;
  let free = 0;
  let movable = 0;
  for (let p = start; p < end;) {
    const flags = frame[p * FRAME_STRIDE + FR_FLAGS];
    const state = flags & FRAME_STATE_MASK;
    if (state === FS_FREE_HEAD) {
      const n = 1 << ((flags & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT);
      free += n;
      p += n;
      continue;
    }
    if (state === FS_ALLOCATED && ftMigratetype((flags & FRAME_PCP_FT_MASK) >> FRAME_PCP_FT_SHIFT) === MIGRATE_MOVABLE) {
      movable++;
    }
    p++;
  }
  return { free, movable };
}

/**
 * __move_freepages_block(): every free block inside the pageblock moves to
 * toFt's lists. Free blocks inside one pageblock are smaller than it, since
 * a partial claim only happens when the pageblock is not wholly free.
 */
export function moveFreepagesBlock(ctx: AllocCtx, pfn: number, toFt: number): number {
  const { frame, zone } = ctx;
  const start = pfn & ~(PAGEBLOCK_NR_PAGES - 1);
  const end = start + PAGEBLOCK_NR_PAGES;
  let moved = 0;
  for (let p = start; p < end;) {
    const flags = frame[p * FRAME_STRIDE + FR_FLAGS];
    if ((flags & FRAME_STATE_MASK) !== FS_FREE_HEAD) {
      p++;
      continue;
    }
    const order = (flags & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT;
    const fromFt = (flags & FRAME_PCP_FT_MASK) >> FRAME_PCP_FT_SHIFT;
    moveToFreeList(frame, zone, p, order, fromFt, toFt);
    frame[p * FRAME_STRIDE + FR_FLAGS] = (flags & ~FRAME_PCP_FT_MASK) | (toFt << FRAME_PCP_FT_SHIFT);
    moved += 1 << order;
    p += 1 << order;
  }
  return moved;
}

/**
 * try_to_claim_block(): the free block at pfn (order curOrder, on blockFt's
 * list) is the best fallback. Whole pageblocks are always taken over; a
 * partial block is converted only when at least half of it is free or in
 * use by allocations like ours, otherwise -1 and the caller scans on.
 */
export function tryToClaimBlock(
  ctx: AllocCtx, cpu: number, pfn: number, curOrder: number, order: number, startFt: number, blockFt: number,
): number {
  const startMt = ftMigratetype(startFt);
  if (curOrder >= PAGEBLOCK_ORDER) {
    delFromFreeList(ctx.frame, ctx.zone, pfn, curOrder, blockFt);
    clearPageBuddy(ctx.frame, pfn, order);
    changePageblockRange(ctx.pageblock, pfn, curOrder, startMt);
    const added = expand(ctx, pfn, order, curOrder, startFt);
    accountFreepages(ctx.zone, added - (1 << curOrder));
    ctx.counters[cpu * COUNTERS_STRIDE + CNT_FALLBACK_CLAIMS] += 1;
    return pfn;
  }
  const { free, movable } = pageblockCensus(ctx, pfn);
  let alike: number;
  if (startMt === MIGRATE_MOVABLE) {
    alike = movable;
  } else if (ftMigratetype(blockFt) === MIGRATE_MOVABLE) {
    // Used frames of a movable block that are not movable were most likely
    // allocated by fallbacks like this one: count them as our kind.
    alike = PAGEBLOCK_NR_PAGES - free - movable;
  } else {
    // Unmovable and reclaimable in-use frames cannot be told apart.
    alike = 0;
  }
  // Injected fault: a strict comparison leaves a block with exactly half
  // free-or-alike unconverted, so the next request steals from it again.
  const claim = injected[BUG_CLAIM_STRICT_GT] ? free + alike > CLAIM_THRESHOLD : free + alike >= CLAIM_THRESHOLD;
  if (!claim) return -1;
  // Lists first, type second: both happen under the zone lock, so nobody
  // sees a free block on a list that disagrees with its pageblock.
  moveFreepagesBlock(ctx, pfn, startFt);
  setPageblockMigratetype(ctx.pageblock, pfn, startMt);
  ctx.counters[cpu * COUNTERS_STRIDE + CNT_FALLBACK_CLAIMS] += 1;
  return rmqueueSmallest(ctx, order, startFt);
}

/** __rmqueue_claim(): scan orders from the largest down, claiming where it pays. */
export function rmqueueClaim(ctx: AllocCtx, cpu: number, order: number, ft: number, allocFlags: number): number {
  const minOrder = order < PAGEBLOCK_ORDER && (allocFlags & ALLOC_NOFRAGMENT) !== 0 ? PAGEBLOCK_ORDER : order;
  for (let cur = MAX_PAGE_ORDER; cur >= minOrder; cur--) {
    const fbFt = findSuitableFallback(ctx, cur, ft, true);
    if (fbFt === -1) continue;
    if (fbFt === -2) break;
    const pfn = ctx.zone[ZONE_FREE_HEAD + cur * NR_FREETYPES + fbFt];
    const got = tryToClaimBlock(ctx, cpu, pfn, cur, order, ft, fbFt);
    if (got >= 0) return got;
  }
  return -1;
}

/**
 * __rmqueue_steal(): the smallest fallback block, split on the fallback
 * type's own lists. The pageblock keeps its type, so the halves stay on the
 * lists that match it.
 */
export function rmqueueSteal(ctx: AllocCtx, cpu: number, order: number, ft: number): number {
  for (let cur = order; cur <= MAX_PAGE_ORDER; cur++) {
    const fbFt = findSuitableFallback(ctx, cur, ft, false);
    if (fbFt < 0) continue;
    const pfn = ctx.zone[ZONE_FREE_HEAD + cur * NR_FREETYPES + fbFt];
    pageDelAndExpand(ctx, pfn, order, cur, fbFt);
    // Injected fault: retyping on steal strands the block's other free
    // pieces on the old type's lists.
    if (injected[BUG_STEAL_RETYPES_BLOCK]) setPageblockMigratetype(ctx.pageblock, pfn, ftMigratetype(ft));
    ctx.counters[cpu * COUNTERS_STRIDE + CNT_FALLBACK_STEALS] += 1;
    return pfn;
  }
  return -1;
}
