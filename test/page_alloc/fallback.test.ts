// Migratetype fallback: the table, claim (high to low, whole block or the
// half rule) and steal (low to high, never retyping).

import { describe, expect, test } from 'vitest';
import {
  MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE,
} from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import { COUNTERS_STRIDE } from '../../native-layout/fields.js';
import { MAX_PAGE_ORDER, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import { pageblockCensus, shouldTryClaimBlock } from '../../src/kernel/page_alloc/fallback.js';
import {
  CLAIM_THRESHOLD, FALLBACKS, GFP_KERNEL, __GFP_RECLAIMABLE, getPageblockMigratetype,
} from '../../src/kernel/page_alloc/index.js';
import { freeList, machine, violations } from './helpers.js';
import { MOVABLE_ALL, UNMOVABLE_ALL, halfFreeMovableBlock } from './scenarios.js';

const mtOf = (pb: Int32Array, pfn: number): number => getPageblockMigratetype(pb, pfn);

describe('the fallback table', () => {
  test('unmovable -> reclaimable, movable; movable -> reclaimable, unmovable; reclaimable -> unmovable, movable', () => {
    expect(FALLBACKS[MIGRATE_UNMOVABLE]).toEqual([MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE]);
    expect(FALLBACKS[MIGRATE_MOVABLE]).toEqual([MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE]);
    expect(FALLBACKS[MIGRATE_RECLAIMABLE]).toEqual([MIGRATE_UNMOVABLE, MIGRATE_MOVABLE]);
    expect(FALLBACKS[MIGRATE_HIGHATOMIC]).toBeUndefined();
    for (const row of FALLBACKS) {
      expect(row).not.toContain(MIGRATE_HIGHATOMIC);
      expect(row).not.toContain(MIGRATE_ISOLATE);
    }
  });

  test('an unmovable request takes a reclaimable block before a movable one of the same order', () => {
    const { mem, pa } = machine({ memMiB: 16, pcpBatch: 1 });
    const pb = mem.views.pageblock;
    // Region 0 becomes reclaimable (its upper pageblock free at order 9) ...
    pa.allocPages(0, 0, GFP_KERNEL | __GFP_RECLAIMABLE);
    expect(mtOf(pb, 512)).toBe(MIGRATE_RECLAIMABLE);
    // ... the rest is used by movable pageblocks, one of which comes back.
    const movable = Array.from({ length: 6 }, () => pa.allocPages(1, PAGEBLOCK_ORDER, MOVABLE_ALL));
    expect(movable.every((p) => p >= 1024)).toBe(true);
    pa.freePages(1, movable[0]!, PAGEBLOCK_ORDER);
    pa.drainAllPages(1);
    expect(freeList(mem, PAGEBLOCK_ORDER, MIGRATE_RECLAIMABLE)).toEqual([512]);
    expect(freeList(mem, PAGEBLOCK_ORDER, MIGRATE_MOVABLE)).toEqual([movable[0]]);
    const got = pa.allocPages(2, 0, UNMOVABLE_ALL);
    expect(got).toBeGreaterThanOrEqual(512);
    expect(got).toBeLessThan(1024);
    expect(mtOf(pb, 512)).toBe(MIGRATE_UNMOVABLE);
    expect(mtOf(pb, movable[0]!)).toBe(MIGRATE_MOVABLE);
    expect(violations(mem)).toEqual([]);
  });
});

describe('claiming', () => {
  test('should_try_claim_block: large blocks always, small ones only for unmovable and reclaimable', () => {
    expect(shouldTryClaimBlock(PAGEBLOCK_ORDER, MIGRATE_MOVABLE)).toBe(true);
    expect(shouldTryClaimBlock(PAGEBLOCK_ORDER >> 1, MIGRATE_MOVABLE)).toBe(true);
    expect(shouldTryClaimBlock((PAGEBLOCK_ORDER >> 1) - 1, MIGRATE_MOVABLE)).toBe(false);
    expect(shouldTryClaimBlock(0, MIGRATE_UNMOVABLE)).toBe(true);
    expect(shouldTryClaimBlock(0, MIGRATE_RECLAIMABLE)).toBe(true);
  });

  test('claim scans from the largest order: a fresh zone gives a whole max-order block, every covered pageblock retyped', () => {
    const { mem, pa } = machine({ memMiB: 16, pcpBatch: 1 });
    const pb = mem.views.pageblock;
    const pfn = pa.allocPages(0, 0, GFP_KERNEL);
    expect(pfn).toBe(0);
    expect(mtOf(pb, 0)).toBe(MIGRATE_UNMOVABLE);
    expect(mtOf(pb, PAGEBLOCK_NR_PAGES)).toBe(MIGRATE_UNMOVABLE);
    expect(mtOf(pb, 2 * PAGEBLOCK_NR_PAGES)).toBe(MIGRATE_MOVABLE);
    for (let o = 0; o < MAX_PAGE_ORDER; o++) expect(freeList(mem, o, MIGRATE_UNMOVABLE)).toEqual([1 << o]);
    expect(mem.views.counters[C.fallbackClaims]).toBe(1);
    expect(violations(mem)).toEqual([]);
  });

  test(`a partly used block is converted when free + alike is exactly ${CLAIM_THRESHOLD} of ${PAGEBLOCK_NR_PAGES}`, () => {
    const { mem, pa, block } = halfFreeMovableBlock(256);
    const pb = mem.views.pageblock;
    expect(pageblockCensus(pa.ctx, block)).toEqual({ free: 256, movable: 256 });
    expect(freeList(mem, 8, MIGRATE_MOVABLE)).toEqual([block + 256]);
    const got = pa.allocPages(1, 0, UNMOVABLE_ALL);
    expect(got).toBe(block + 256);
    expect(mtOf(pb, block)).toBe(MIGRATE_UNMOVABLE);
    expect(freeList(mem, 8, MIGRATE_MOVABLE)).toEqual([]);
    expect(mem.views.counters[COUNTERS_STRIDE + C.fallbackClaims]).toBe(1);
    expect(mem.views.counters[COUNTERS_STRIDE + C.fallbackSteals]).toBe(0);
    expect(violations(mem)).toEqual([]);
  });

  test('one frame less (255) and the block is not converted: the request steals instead', () => {
    const { mem, pa, block } = halfFreeMovableBlock(255);
    const pb = mem.views.pageblock;
    const got = pa.allocPages(1, 0, UNMOVABLE_ALL);
    expect(got).toBe(block + 257); // the smallest fallback block: steal scans upward
    expect(mtOf(pb, block)).toBe(MIGRATE_MOVABLE);
    expect(mem.views.counters[COUNTERS_STRIDE + C.fallbackClaims]).toBe(0);
    // The pcp refill (batch 7) keeps stealing once claiming failed.
    expect(mem.views.counters[COUNTERS_STRIDE + C.fallbackSteals]).toBe(7);
    expect(violations(mem)).toEqual([]);
  });
});

describe('stealing', () => {
  test('a small movable request steals from an unmovable block without retyping it, smallest block first', () => {
    const { mem, pa } = machine({ memMiB: 16, pcpBatch: 1 });
    const pb = mem.views.pageblock;
    pa.allocPages(0, 0, GFP_KERNEL); // region 0 becomes unmovable, split down to order 0
    for (let i = 0; i < 3; i++) expect(pa.allocPages(1, MAX_PAGE_ORDER, MOVABLE_ALL)).toBeGreaterThan(0);
    // Take the unmovable region's large pieces so only small ones are left.
    for (const o of [9, 8, 7, 6, 5, 4]) expect(pa.allocPages(1, o, UNMOVABLE_ALL)).toBe(1 << o);
    const got = pa.allocPages(2, 0, MOVABLE_ALL);
    expect(got).toBe(1);
    expect(mtOf(pb, 0)).toBe(MIGRATE_UNMOVABLE);
    expect(mem.views.counters[2 * COUNTERS_STRIDE + C.fallbackSteals]).toBe(1);
    expect(freeList(mem, 1, MIGRATE_UNMOVABLE)).toEqual([2]);
    expect(violations(mem)).toEqual([]);
  });
});
