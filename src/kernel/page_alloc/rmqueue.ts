// __rmqueue and rmqueue_buddy (mm/page_alloc.c): the order in which free
// lists are tried, with the zone lock held.

import { MIGRATE_HIGHATOMIC as MIGRATE_HIGHATOMIC_ } from '../../../native-layout/bits.js';
import { rmqueueSmallest } from './buddy.js';
import type { AllocCtx } from './ctx.js';
import { rmqueueClaim, rmqueueSteal } from './fallback.js';
import { ftWithMigratetype } from './freetype.js';
import { ALLOC_HIGHATOMIC, ALLOC_NOFRAGMENT, ALLOC_NON_BLOCK, ALLOC_OOM } from './gfp.js';
import { zoneLock, zoneUnlock } from './zone.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MIGRATE_HIGHATOMIC = MIGRATE_HIGHATOMIC_;

/** enum rmqueue_mode: where the next __rmqueue of a bulk refill starts. */
export const RMQUEUE_NORMAL = 0;
export const RMQUEUE_CLAIM = 1;
export const RMQUEUE_STEAL = 2;

/**
 * __rmqueue(): own lists, then claim, then steal. mode[0] carries over a
 * bulk refill: once claiming has failed and stealing worked, the rest of the
 * batch steals straight away instead of rescanning every order for a claim
 * that cannot succeed; a successful claim refilled our own lists, so the
 * next round starts there again.
 */
export function rmqueue(ctx: AllocCtx, cpu: number, order: number, ft: number, allocFlags: number, mode: Int32Array): number {
  const m = mode[0];
  let pfn: number;
  if (m === RMQUEUE_NORMAL) {
    pfn = rmqueueSmallest(ctx, order, ft);
    if (pfn >= 0) return pfn;
  }
  if (m <= RMQUEUE_CLAIM) {
    pfn = rmqueueClaim(ctx, cpu, order, ft, allocFlags);
    if (pfn >= 0) {
      mode[0] = RMQUEUE_NORMAL;
      return pfn;
    }
  }
  if ((allocFlags & ALLOC_NOFRAGMENT) === 0) {
    pfn = rmqueueSteal(ctx, cpu, order, ft);
    if (pfn >= 0) {
      mode[0] = RMQUEUE_STEAL;
      return pfn;
    }
  }
  return -1;
}

/**
 * rmqueue_buddy(): one block straight from the buddy lists (orders without
 * pcp lists, a contended or empty pcp). Non-blocking requests may use the
 * highatomic reserve of their own sensitivity lane as a last resort.
 */
export function rmqueueBuddy(ctx: AllocCtx, cpu: number, order: number, ft: number, allocFlags: number): number {
  const atomicFt = ftWithMigratetype(ft, MIGRATE_HIGHATOMIC);
  const saved = zoneLock(ctx, cpu);
  let pfn = -1;
  if ((allocFlags & ALLOC_HIGHATOMIC) !== 0) pfn = rmqueueSmallest(ctx, order, atomicFt);
  if (pfn < 0) {
    ctx.rmqMode[0] = RMQUEUE_NORMAL;
    pfn = rmqueue(ctx, cpu, order, ft, allocFlags, ctx.rmqMode);
    if (pfn < 0 && (allocFlags & (ALLOC_OOM | ALLOC_NON_BLOCK)) !== 0) pfn = rmqueueSmallest(ctx, order, atomicFt);
  }
  zoneUnlock(ctx, cpu, saved);
  return pfn;
}
