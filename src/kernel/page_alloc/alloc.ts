// The allocation path: get_page_from_freelist() -> rmqueue() for our one
// zone, and the part of the slow path that matters here (drain every CPU's
// lists and retry, for callers that may block).

import { C as C_ } from '../../../native-layout/counters.js';
import { COUNTERS_STRIDE as COUNTERS_STRIDE_ } from '../../../native-layout/fields.js';
import type { AllocCtx } from './ctx.js';
import { __GFP_DIRECT_RECLAIM, __GFP_UNMAPPED, gfpFreetype, gfpToAllocFlags } from './gfp.js';
import { rmqueueUnmapped } from './unmapped.js';
import { MIGRATE_UNMOVABLE as MIGRATE_UNMOVABLE_ } from '../../../native-layout/bits.js';
import { drainAllPages, pcpAllowedOrder, rmqueuePcplist } from './pcp.js';
import { prepNewPage } from './prep.js';
import { rmqueueBuddy } from './rmqueue.js';
import { ftNonsensitive } from './freetype.js';
import { PAGEBLOCK_ORDER as PAGEBLOCK_ORDER_ } from '../../../native-layout/shape.js';
import { zoneWatermarkOk } from './zone.js';
import { EV_ALLOC } from '../../trace/events.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const C = C_, COUNTERS_STRIDE = COUNTERS_STRIDE_, MIGRATE_UNMOVABLE = MIGRATE_UNMOVABLE_, PAGEBLOCK_ORDER = PAGEBLOCK_ORDER_;

const CNT_ALLOCS = C.allocs;

/** get_page_from_freelist() + rmqueue(): pfn of a block, still to be prepared, or -1. */
export function getPageFromFreelist(ctx: AllocCtx, cpu: number, order: number, ft: number, allocFlags: number): number {
  if (!zoneWatermarkOk(ctx, order, allocFlags)) return -1;
  if (pcpAllowedOrder(order)) {
    const pfn = rmqueuePcplist(ctx, cpu, order, ft, allocFlags);
    if (pfn >= 0) return pfn;
  }
  const pfn = rmqueueBuddy(ctx, cpu, order, ft, allocFlags);
  if (pfn >= 0 || ctx.asiOps === null) return pfn;
  // Own lists, claim and steal of this sensitivity all failed: the
  // dedicated path may flip whole pageblocks of the other one (flip.ts).
  return ctx.flip(ctx, cpu, order, ft, allocFlags);
}

/**
 * __alloc_pages(), coarse: one attempt; a caller that may block then gets
 * what other CPUs cache (drain_all_pages, as after failed direct reclaim)
 * and one more attempt. No reclaim, compaction or OOM killer.
 */
export function allocPagesCore(ctx: AllocCtx, cpu: number, order: number, gfp: number): number {
  const allocFlags = gfpToAllocFlags(gfp, order);
  if ((gfp & __GFP_UNMAPPED) !== 0) return allocUnmapped(ctx, cpu, order, gfp, allocFlags);
  const ft = gfpFreetype(gfp, ctx.asi);
  let pfn = getPageFromFreelist(ctx, cpu, order, ft, allocFlags);
  if (pfn < 0 && (gfp & __GFP_DIRECT_RECLAIM) !== 0) {
    drainAllPages(ctx, cpu);
    pfn = getPageFromFreelist(ctx, cpu, order, ft, allocFlags);
  }
  if (pfn < 0) return -1;
  const ops = ctx.asiOps;
  if (ops !== null) {
    // check_new_pages()' ASI part: once per pageblock of the block, the
    // physmap mapping agrees with the pageblock bit and with the request.
    const want = ftNonsensitive(ft);
    const step = 1 << PAGEBLOCK_ORDER;
    for (let p = pfn; p < pfn + (1 << order); p += step) ops.checkMapping(cpu, p, want);
  }
  prepNewPage(ctx, cpu, pfn, order, ft, gfp);
  ctx.trace[cpu]!.emit(EV_ALLOC, pfn, order | ((ft + 1) << 8), gfp);
  ctx.counters[cpu * COUNTERS_STRIDE + CNT_ALLOCS] += 1;
  return pfn;
}

/**
 * The ALLOC_UNMAPPED path (unmapped.ts): a whole pageblock, out of every
 * direct map. Unmapped memory is sensitive memory: under ASI it is checked
 * to be absent from the nonsensitive physmap too.
 */
function allocUnmapped(ctx: AllocCtx, cpu: number, order: number, gfp: number, allocFlags: number): number {
  const pfn = rmqueueUnmapped(ctx, cpu, order, gfp, allocFlags);
  if (pfn < 0) return -1;
  ctx.asiOps?.checkMapping(cpu, pfn, 0);
  prepNewPage(ctx, cpu, pfn, order, MIGRATE_UNMOVABLE, gfp);
  ctx.trace[cpu]!.emit(EV_ALLOC, pfn, order, gfp);
  ctx.counters[cpu * COUNTERS_STRIDE + CNT_ALLOCS] += 1;
  return pfn;
}
