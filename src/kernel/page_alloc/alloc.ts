// The allocation path: get_page_from_freelist() -> rmqueue() for our one
// zone, and the part of the slow path that matters here (drain every CPU's
// lists and retry, for callers that may block).

import { C } from '../../../native-layout/counters.js';
import { COUNTERS_STRIDE } from '../../../native-layout/fields.js';
import type { AllocCtx } from './ctx.js';
import { __GFP_DIRECT_RECLAIM, gfpFreetype, gfpToAllocFlags } from './gfp.js';
import { drainAllPages, pcpAllowedOrder, rmqueuePcplist } from './pcp.js';
import { prepNewPage } from './prep.js';
import { rmqueueBuddy } from './rmqueue.js';
import { zoneWatermarkOk } from './zone.js';
import { EV_ALLOC } from '../../trace/events.js';

const CNT_ALLOCS = C.allocs;

/** get_page_from_freelist() + rmqueue(): pfn of a block, still to be prepared, or -1. */
export function getPageFromFreelist(ctx: AllocCtx, cpu: number, order: number, ft: number, allocFlags: number): number {
  if (!zoneWatermarkOk(ctx, order, allocFlags)) return -1;
  if (pcpAllowedOrder(order)) {
    const pfn = rmqueuePcplist(ctx, cpu, order, ft, allocFlags);
    if (pfn >= 0) return pfn;
  }
  return rmqueueBuddy(ctx, cpu, order, ft, allocFlags);
}

/**
 * __alloc_pages(), coarse: one attempt; a caller that may block then gets
 * what other CPUs cache (drain_all_pages, as after failed direct reclaim)
 * and one more attempt. No reclaim, compaction or OOM killer.
 */
export function allocPagesCore(ctx: AllocCtx, cpu: number, order: number, gfp: number): number {
  const ft = gfpFreetype(gfp, ctx.asi);
  const allocFlags = gfpToAllocFlags(gfp, order);
  let pfn = getPageFromFreelist(ctx, cpu, order, ft, allocFlags);
  if (pfn < 0 && (gfp & __GFP_DIRECT_RECLAIM) !== 0) {
    drainAllPages(ctx, cpu);
    pfn = getPageFromFreelist(ctx, cpu, order, ft, allocFlags);
  }
  if (pfn < 0) return -1;
  prepNewPage(ctx, cpu, pfn, order, ft, gfp);
  ctx.trace[cpu]!.emit(EV_ALLOC, pfn, order, gfp);
  ctx.counters[cpu * COUNTERS_STRIDE + CNT_ALLOCS] += 1;
  return pfn;
}
