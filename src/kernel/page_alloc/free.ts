// The free path: __free_frozen_pages() -> pcp list, or free_one_page() ->
// buddy for orders without pcp lists, isolated blocks and a busy pcp lock.

import {
  MIGRATE_ISOLATE as MIGRATE_ISOLATE_, MIGRATE_MOVABLE as MIGRATE_MOVABLE_, MIGRATE_PCPTYPES as MIGRATE_PCPTYPES_,
} from '../../../native-layout/bits.js';
import { C as C_ } from '../../../native-layout/counters.js';
import { COUNTERS_STRIDE as COUNTERS_STRIDE_ } from '../../../native-layout/fields.js';
import { PAGEBLOCK_ORDER as PAGEBLOCK_ORDER_ } from '../../../native-layout/shape.js';
import { freeOnePage } from './buddy.js';
import type { AllocCtx } from './ctx.js';
import { ftMigratetype, ftWithMigratetype } from './freetype.js';
import { getPageblockFreetype } from './pageblock.js';
import { freeToPcp, orderToPindex, pcpAllowedOrder } from './pcp.js';
import { checkFreeable, freePagesPrepare } from './prep.js';
import { zoneLock, zoneUnlock } from './zone.js';
import { pageblockUnmapped, restoreUnmapped } from './unmapped.js';
import { EV_FREE } from '../../trace/events.js';
import { SITE_PAGE_FREE, kernelPoint } from '../points.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MIGRATE_ISOLATE = MIGRATE_ISOLATE_, MIGRATE_MOVABLE = MIGRATE_MOVABLE_, MIGRATE_PCPTYPES = MIGRATE_PCPTYPES_, C = C_,
  COUNTERS_STRIDE = COUNTERS_STRIDE_, PAGEBLOCK_ORDER = PAGEBLOCK_ORDER_;

const CNT_FREES = C.frees;

/**
 * free_one_page() with split_large_buddy(): straight to the buddy under the
 * zone lock. A block larger than a pageblock goes back one pageblock at a
 * time, each on its own block's freetype, and coalesces from there.
 */
export function freeOnePageLocked(ctx: AllocCtx, cpu: number, pfn: number, order: number): void {
  const step = order > PAGEBLOCK_ORDER ? PAGEBLOCK_ORDER : order;
  const end = pfn + (1 << order);
  const saved = zoneLock(ctx, cpu);
  for (let p = pfn; p < end; p += 1 << step) {
    freeOnePage(ctx, p, step, getPageblockFreetype(ctx.pageblock, p), false);
  }
  zoneUnlock(ctx, cpu, saved);
}

/** __free_frozen_pages(): throws BadPageError unless pfn is a live allocation of this order. */
export function freePagesCore(ctx: AllocCtx, cpu: number, pfn: number, order: number): void {
  checkFreeable(ctx, pfn, order);
  // free_pages_prepare()'s ASI check: the block's physmap mapping agrees
  // with its pageblock bit (page_asi_mapping_bad).
  if (ctx.asiOps !== null) ctx.asiOps.checkMapping(cpu, pfn, -1);
  // An unmapped block is mapped again before anything else may see it free.
  if (pageblockUnmapped(ctx.pageblock, pfn)) restoreUnmapped(ctx, cpu, pfn);
  kernelPoint(SITE_PAGE_FREE);
  ctx.trace[cpu]!.emit(EV_FREE, pfn, order | ((getPageblockFreetype(ctx.pageblock, pfn) + 1) << 8), 0);
  freePagesPrepare(ctx, pfn, order);
  ctx.counters[cpu * COUNTERS_STRIDE + CNT_FREES] += 1;
  if (!pcpAllowedOrder(order)) {
    freeOnePageLocked(ctx, cpu, pfn, order);
    return;
  }
  const ft = getPageblockFreetype(ctx.pageblock, pfn);
  const mt = ftMigratetype(ft);
  let listFt = ft;
  if (mt >= MIGRATE_PCPTYPES) {
    // Isolated blocks are being emptied: caching a frame would hide it from
    // the isolation. Highatomic frames ride on the movable list and find
    // their real type again when drained.
    if (mt === MIGRATE_ISOLATE) {
      freeOnePageLocked(ctx, cpu, pfn, order);
      return;
    }
    listFt = ftWithMigratetype(ft, MIGRATE_MOVABLE);
  }
  if (!freeToPcp(ctx, cpu, pfn, order, ft, orderToPindex(listFt, order))) freeOnePageLocked(ctx, cpu, pfn, order);
}
