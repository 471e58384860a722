// The buddy system proper (mm/page_alloc.c): taking the smallest fitting
// block and splitting it (__rmqueue_smallest, expand), and freeing with
// coalescing (__free_one_page). Every function here runs under the zone lock.

import {
  FRAME_ORDER_MASK as FRAME_ORDER_MASK_, FRAME_ORDER_SHIFT as FRAME_ORDER_SHIFT_, FRAME_STATE_MASK as FRAME_STATE_MASK_,
  FS_FREE_HEAD as FS_FREE_HEAD_, NR_FREETYPES as NR_FREETYPES_,
} from '../../../native-layout/bits.js';
import { FRAME_STRIDE as FRAME_STRIDE_, FR_FLAGS as FR_FLAGS_, ZONE_FREE_HEAD as ZONE_FREE_HEAD_ } from '../../../native-layout/fields.js';
import { MAX_PAGE_ORDER as MAX_PAGE_ORDER_, PAGEBLOCK_ORDER as PAGEBLOCK_ORDER_ } from '../../../native-layout/shape.js';
import { BUG, injected } from '../../check/bugs.js';
import type { AllocCtx } from './ctx.js';
import { accountFreepages, addToFreeList, delFromFreeList } from './freelist.js';
import { canMergeFreetypes, ftMigratetype } from './freetype.js';
import { clearPageBuddy, pageFreetype, pageOrder, setBuddyOrder, setFreeTail, setFreeTails } from './page.js';
import { changePageblockRange, getPageblockFreetype } from './pageblock.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const FRAME_ORDER_MASK = FRAME_ORDER_MASK_, FRAME_ORDER_SHIFT = FRAME_ORDER_SHIFT_, FRAME_STATE_MASK = FRAME_STATE_MASK_,
  FS_FREE_HEAD = FS_FREE_HEAD_, NR_FREETYPES = NR_FREETYPES_, FRAME_STRIDE = FRAME_STRIDE_, FR_FLAGS = FR_FLAGS_, ZONE_FREE_HEAD = ZONE_FREE_HEAD_,
  MAX_PAGE_ORDER = MAX_PAGE_ORDER_, PAGEBLOCK_ORDER = PAGEBLOCK_ORDER_;

const BUG_BUDDY_XOR_WRONG_ORDER = BUG['buddy-xor-wrong-order']!;
const BUG_MERGE_IGNORES_ORDER = BUG['merge-ignores-order']!;
const BUG_EXPAND_DROPS_HALF = BUG['expand-drops-half']!;
const BUG_MERGE_ACROSS_SENSITIVITY = BUG['merge-across-sensitivity']!;

/** __find_buddy_pfn(): the block pfn pairs with at this order. */
export function findBuddyPfn(pfn: number, order: number): number {
  // Injected fault: pairing with the block one order up lands on a
  // non-aligned neighbour, so two blocks that are not buddies coalesce into
  // a misaligned "free" block that still contains a live frame.
  if (injected[BUG_BUDDY_XOR_WRONG_ORDER]) return pfn ^ (2 << order);
  return pfn ^ (1 << order);
}

/**
 * page_is_buddy(): the buddy heads a free block of exactly this order. A
 * smaller free block at the buddy's position means part of the buddy range
 * is still in use (injectable as merge-ignores-order).
 */
export function pageIsBuddy(ctx: AllocCtx, buddyPfn: number, order: number): boolean {
  if (buddyPfn < 0 || buddyPfn >= ctx.frames) return false;
  const flags = ctx.frame[buddyPfn * FRAME_STRIDE + FR_FLAGS];
  if ((flags & FRAME_STATE_MASK) !== FS_FREE_HEAD) return false;
  if (injected[BUG_MERGE_IGNORES_ORDER]) return true;
  return ((flags & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT) === order;
}

/**
 * expand(): split a 2^high block down to 2^low, returning each upper half
 * to the head of the ft list of its order; the block at pfn of order low is
 * what the caller keeps. Returns the frames put back on the lists.
 */
export function expand(ctx: AllocCtx, pfn: number, low: number, high: number, ft: number): number {
  const { frame, zone } = ctx;
  const top = high;
  let size = 1 << high;
  let added = 0;
  while (high > low) {
    high--;
    size >>= 1;
    // Injected fault: the largest half is never listed; its frames stay
    // free tails that no list reaches, lost for good.
    if (injected[BUG_EXPAND_DROPS_HALF] && high === top - 1) continue;
    const half = pfn + size;
    setBuddyOrder(frame, half, high, ft);
    addToFreeList(frame, zone, half, high, ft, false);
    added += size;
  }
  return added;
}

/**
 * page_del_and_expand(): take the free block at pfn (order high, on list ft)
 * and keep 2^low of it. NR_FREE_PAGES drops by exactly 2^low.
 */
export function pageDelAndExpand(ctx: AllocCtx, pfn: number, low: number, high: number, ft: number): void {
  delFromFreeList(ctx.frame, ctx.zone, pfn, high, ft);
  clearPageBuddy(ctx.frame, pfn, low);
  const added = expand(ctx, pfn, low, high, ft);
  accountFreepages(ctx.zone, added - (1 << high));
}

/** __rmqueue_smallest(): first block on the ft lists at order or above, split to size. */
export function rmqueueSmallest(ctx: AllocCtx, order: number, ft: number): number {
  const zone = ctx.zone;
  for (let cur = order; cur <= MAX_PAGE_ORDER; cur++) {
    const pfn = zone[ZONE_FREE_HEAD + cur * NR_FREETYPES + ft];
    if (pfn < 0) continue;
    pageDelAndExpand(ctx, pfn, order, cur, ft);
    return pfn;
  }
  return -1;
}

/**
 * buddy_merge_likely(): the block we just listed could not merge, but if its
 * buddy is the only thing missing for the next order to merge as well, put
 * it at the tail so it is not handed out before that buddy comes back.
 */
function buddyMergeLikely(ctx: AllocCtx, pfn: number, buddyPfn: number, order: number): boolean {
  if (order >= MAX_PAGE_ORDER - 1 || buddyPfn < 0) return false;
  const higher = pfn & buddyPfn;
  return pageIsBuddy(ctx, findBuddyPfn(higher, order + 1), order + 1);
}

/**
 * __free_one_page(): put a 2^order block at pfn (whose frames the caller
 * owns; its tails become free tails here) on the free lists as freetype ft,
 * coalescing with free buddies. ft must be the block's pageblock freetype
 * (read at free time, not remembered from earlier).
 */
export function freeOnePage(ctx: AllocCtx, pfn: number, order: number, ft: number, toTail: boolean): void {
  const { frame, zone, pageblock } = ctx;
  accountFreepages(zone, 1 << order);
  setFreeTails(frame, pfn, order);
  let buddyPfn = -1;
  while (order < MAX_PAGE_ORDER) {
    buddyPfn = findBuddyPfn(pfn, order);
    if (!pageIsBuddy(ctx, buddyPfn, order)) break;
    let buddyFt = ft;
    if (order >= PAGEBLOCK_ORDER) {
      // The merge crosses pageblocks: highatomic and isolated blocks keep
      // their own accounting, and sensitivity may only change in the flip
      // path, so those never coalesce with a different freetype.
      buddyFt = getPageblockFreetype(pageblock, buddyPfn);
      // Injected fault: the sensitivity test is dropped, so a free
      // nonsensitive block coalesces with a sensitive one and the merged
      // block is listed (and later handed out) as one sensitivity while
      // half of it is mapped, or not, in the physmap as the other.
      const mergeable = injected[BUG_MERGE_ACROSS_SENSITIVITY]
        ? canMergeFreetypes(ftMigratetype(ft), ftMigratetype(buddyFt))
        : canMergeFreetypes(ft, buddyFt);
      if (!mergeable) break;
    }
    // Unlink from the list the buddy is really on (its tag), so a wrong
    // belief about its type cannot corrupt two lists at once.
    delFromFreeList(frame, zone, buddyPfn, pageOrder(frame, buddyPfn), pageFreetype(frame, buddyPfn));
    if (buddyFt !== ft) {
      // Retype the buddy's blocks so that a later expand() of the merged
      // block lists every half on its block's type.
      changePageblockRange(pageblock, buddyPfn, order, ftMigratetype(ft));
    }
    const combined = pfn & buddyPfn;
    setFreeTail(frame, combined === pfn ? buddyPfn : pfn);
    pfn = combined;
    order++;
  }
  setBuddyOrder(frame, pfn, order, ft);
  const tail = toTail || buddyMergeLikely(ctx, pfn, buddyPfn, order);
  addToFreeList(frame, zone, pfn, order, ft, tail);
}
