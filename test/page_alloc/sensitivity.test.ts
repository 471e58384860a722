// ASI freetypes: the nonsensitive lane has its own free and pcp lists; the
// migratetype fallback and merging never cross lanes. (Flipping a block's
// sensitivity is the ASI path's job; here the tests flip whole pageblocks
// they own, as that path will.)

import { describe, expect, test } from 'vitest';
import {
  MIGRATE_MOVABLE, MIGRATE_TYPES, MIGRATE_UNMOVABLE, NR_PCP_LISTS,
} from '../../native-layout/bits.js';
import { PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import {
  GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_USER, freetypeOf, getPageblockFreetype, orderToPindex, setPageblockNonsensitive,
} from '../../src/kernel/page_alloc/index.js';
import { allocAll, freeList, machine, pcpList, violations } from './helpers.js';
import { MOVABLE_ALL } from './scenarios.js';

const NS = (mt: number): number => freetypeOf(mt, 1);

/** One pageblock flipped to nonsensitive and returned to the allocator. */
function withNonsensitiveBlock() {
  const m = machine({ memMiB: 16, asi: true, pcpBatch: 3 });
  const block = m.pa.allocPages(0, PAGEBLOCK_ORDER, GFP_HIGHUSER_MOVABLE);
  setPageblockNonsensitive(m.mem.views.pageblock, block, true);
  m.pa.freePages(0, block, PAGEBLOCK_ORDER);
  m.pa.drainAllPages(0);
  return { ...m, block };
}

describe('sensitivity lanes', () => {
  test('with ASI on, nothing is nonsensitive at boot: only __GFP_SENSITIVE requests are served', () => {
    const { mem, pa } = machine({ asi: true });
    expect(pa.allocPages(0, 0, GFP_KERNEL)).toBe(-1);
    expect(pa.allocPages(0, 0, GFP_USER)).toBeGreaterThanOrEqual(0);
    expect(violations(mem)).toEqual([]);
  });

  test('with ASI off every request uses the sensitive lane', () => {
    const { mem, pa } = machine({ asi: false, pcpBatch: 3 });
    const p = pa.allocPages(0, 0, GFP_KERNEL);
    expect(getPageblockFreetype(mem.views.pageblock, p)).toBe(MIGRATE_UNMOVABLE);
  });

  test('buddies of different sensitivity never merge', () => {
    const { mem, block } = withNonsensitiveBlock();
    const buddy = block ^ PAGEBLOCK_NR_PAGES;
    expect(freeList(mem, PAGEBLOCK_ORDER, NS(MIGRATE_MOVABLE))).toEqual([block]);
    expect(freeList(mem, PAGEBLOCK_ORDER, MIGRATE_MOVABLE)).toContain(buddy);
    expect(violations(mem)).toEqual([]);
  });

  test('a nonsensitive request claims within its lane, and its frames cycle through lane-1 pcp lists', () => {
    const { mem, pa, block } = withNonsensitiveBlock();
    const pb = mem.views.pageblock;
    const p = pa.allocPages(1, 0, GFP_KERNEL);
    expect(p).toBeGreaterThanOrEqual(block);
    expect(p).toBeLessThan(block + PAGEBLOCK_NR_PAGES);
    expect(getPageblockFreetype(pb, block)).toBe(NS(MIGRATE_UNMOVABLE));
    pa.freePages(1, p, 0);
    const lane1 = orderToPindex(NS(MIGRATE_UNMOVABLE), 0);
    expect(lane1).toBeGreaterThanOrEqual(NR_PCP_LISTS);
    expect(pcpList(mem, 1, lane1)).toContain(p);
    expect(pcpList(mem, 1, orderToPindex(MIGRATE_UNMOVABLE, 0))).toEqual([]);
    expect(violations(mem)).toEqual([]);
  });

  test('sensitive requests never get nonsensitive frames, even with memory exhausted', () => {
    const { mem, pa, block } = withNonsensitiveBlock();
    const got = allocAll(pa, 2, 0, MOVABLE_ALL);
    expect(got.length).toBe(mem.layout.frames - PAGEBLOCK_NR_PAGES);
    expect(got.some((p) => p >= block && p < block + PAGEBLOCK_NR_PAGES)).toBe(false);
    for (const p of got.slice(0, 50)) expect(getPageblockFreetype(mem.views.pageblock, p)).toBeLessThan(MIGRATE_TYPES);
    expect(violations(mem)).toEqual([]);
  });
});
