// Encodings: pageblock flag words, freetypes, GFP to migratetype, pcp indices.

import { describe, expect, test } from 'vitest';
import {
  MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE, MIGRATE_MOVABLE, MIGRATE_PCPTYPES, MIGRATE_RECLAIMABLE, MIGRATE_TYPES,
  MIGRATE_UNMOVABLE, NR_PCP_LISTS_FT, PB_NONSENSITIVE, PB_SKIP,
} from '../../native-layout/bits.js';
import { PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import {
  GFP_ATOMIC, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_PGTABLE, GFP_USER, GfpError, __GFP_MOVABLE, __GFP_RECLAIMABLE,
  __GFP_SENSITIVE, __GFP_ZERO, canMergeFreetypes, freetypeOf, ftMigratetype, ftNonsensitive, getPageblockFreetype,
  getPageblockMigratetype, gfpFreetype, gfpMigratetype, orderToPindex, pageblockFlags, pindexToOrder,
  setPageblockNonsensitive, setPageblockSkip, setPageblockUpdateHook,
} from '../../src/kernel/page_alloc/index.js';
import { changePageblockRange, setPageblockMigratetype } from '../../src/kernel/page_alloc/pageblock.js';
import { machine } from './helpers.js';

const B = PAGEBLOCK_NR_PAGES;

describe('pageblock flag words', () => {
  test('four blocks share a word and each update leaves the neighbours alone', () => {
    const { mem } = machine();
    const pb = mem.views.pageblock;
    setPageblockMigratetype(pb, 1 * B, MIGRATE_RECLAIMABLE);
    setPageblockNonsensitive(pb, 2 * B, true);
    setPageblockSkip(pb, 3 * B, true);
    setPageblockMigratetype(pb, 0, MIGRATE_UNMOVABLE);
    expect([0, 1, 2, 3].map((b) => getPageblockMigratetype(pb, b * B))).toEqual(
      [MIGRATE_UNMOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE, MIGRATE_MOVABLE]);
    expect(pageblockFlags(pb, 2 * B) & PB_NONSENSITIVE).toBe(PB_NONSENSITIVE);
    expect(pageblockFlags(pb, 3 * B) & PB_SKIP).toBe(PB_SKIP);
    expect(getPageblockFreetype(pb, 2 * B)).toBe(freetypeOf(MIGRATE_MOVABLE, 1));
    expect(getPageblockMigratetype(pb, 4 * B)).toBe(MIGRATE_MOVABLE);
  });

  test('isolation reads as MIGRATE_ISOLATE and setting a real type ends it', () => {
    const { mem } = machine();
    const pb = mem.views.pageblock;
    setPageblockMigratetype(pb, 0, MIGRATE_ISOLATE);
    expect(getPageblockMigratetype(pb, 0)).toBe(MIGRATE_ISOLATE);
    setPageblockMigratetype(pb, 0, MIGRATE_RECLAIMABLE);
    expect(getPageblockMigratetype(pb, 0)).toBe(MIGRATE_RECLAIMABLE);
  });

  test('change_pageblock_range retypes every block a large block covers', () => {
    const { mem } = machine();
    const pb = mem.views.pageblock;
    changePageblockRange(pb, 2 * B, PAGEBLOCK_ORDER + 1, MIGRATE_UNMOVABLE);
    expect([1, 2, 3, 4].map((b) => getPageblockMigratetype(pb, b * B))).toEqual(
      [MIGRATE_MOVABLE, MIGRATE_UNMOVABLE, MIGRATE_UNMOVABLE, MIGRATE_MOVABLE]);
  });

  test('a neighbour update landing inside the read-modify-write window is retried, not lost', () => {
    const { mem } = machine();
    const pb = mem.views.pageblock;
    let fired = false;
    setPageblockUpdateHook((pfn) => {
      if (fired || pfn !== 2 * B) return;
      fired = true;
      setPageblockMigratetype(pb, 0, MIGRATE_UNMOVABLE); // "another CPU"
    });
    try {
      setPageblockSkip(pb, 2 * B, true);
    } finally {
      setPageblockUpdateHook(null);
    }
    expect(fired).toBe(true);
    expect(getPageblockMigratetype(pb, 0)).toBe(MIGRATE_UNMOVABLE);
    expect(pageblockFlags(pb, 2 * B) & PB_SKIP).toBe(PB_SKIP);
  });
});

describe('freetypes', () => {
  test('(migratetype, sensitivity) round-trips and equals the migratetype on the sensitive lane', () => {
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
      expect(freetypeOf(mt, 0)).toBe(mt);
      for (const s of [0, 1]) {
        expect(ftMigratetype(freetypeOf(mt, s))).toBe(mt);
        expect(ftNonsensitive(freetypeOf(mt, s))).toBe(s);
      }
    }
  });

  test('different freetypes merge only if both are mergeable and of one sensitivity', () => {
    expect(canMergeFreetypes(MIGRATE_MOVABLE, MIGRATE_UNMOVABLE)).toBe(true);
    expect(canMergeFreetypes(MIGRATE_HIGHATOMIC, MIGRATE_HIGHATOMIC)).toBe(true);
    expect(canMergeFreetypes(MIGRATE_MOVABLE, MIGRATE_HIGHATOMIC)).toBe(false);
    expect(canMergeFreetypes(MIGRATE_MOVABLE, MIGRATE_ISOLATE)).toBe(false);
    expect(canMergeFreetypes(MIGRATE_MOVABLE, freetypeOf(MIGRATE_MOVABLE, 1))).toBe(false);
  });
});

describe('GFP', () => {
  test('the mobility bits select the migratetype; both at once is an error', () => {
    expect(gfpMigratetype(GFP_KERNEL)).toBe(MIGRATE_UNMOVABLE);
    expect(gfpMigratetype(GFP_HIGHUSER_MOVABLE)).toBe(MIGRATE_MOVABLE);
    expect(gfpMigratetype(GFP_KERNEL | __GFP_RECLAIMABLE)).toBe(MIGRATE_RECLAIMABLE);
    expect(gfpMigratetype(GFP_ATOMIC)).toBe(MIGRATE_UNMOVABLE);
    expect(gfpMigratetype(GFP_PGTABLE)).toBe(MIGRATE_UNMOVABLE);
    expect(GFP_PGTABLE & __GFP_ZERO).toBe(__GFP_ZERO);
    expect(GFP_USER & __GFP_SENSITIVE).toBe(__GFP_SENSITIVE);
    expect(() => gfpMigratetype(__GFP_MOVABLE | __GFP_RECLAIMABLE)).toThrow(GfpError);
  });

  test('the sensitivity lane follows __GFP_SENSITIVE only with ASI on', () => {
    expect(gfpFreetype(GFP_KERNEL, false)).toBe(MIGRATE_UNMOVABLE);
    expect(gfpFreetype(GFP_KERNEL, true)).toBe(freetypeOf(MIGRATE_UNMOVABLE, 1));
    expect(gfpFreetype(GFP_HIGHUSER_MOVABLE, true)).toBe(MIGRATE_MOVABLE);
  });
});

describe('pcp list index', () => {
  test('every (order, migratetype, lane) with a pcp list has its own index, except the shared non-movable THP list', () => {
    const seen = new Map<number, string>();
    for (const lane of [0, 1]) {
      for (const order of [0, 1, 2, 3, PAGEBLOCK_ORDER]) {
        for (let mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
          const pi = orderToPindex(freetypeOf(mt, lane), order);
          expect(pi).toBeGreaterThanOrEqual(0);
          expect(pi).toBeLessThan(NR_PCP_LISTS_FT);
          expect(pindexToOrder(pi)).toBe(order);
          const key = `${lane}/${order}/${order === PAGEBLOCK_ORDER && mt !== MIGRATE_MOVABLE ? 'nonmovable' : mt}`;
          if (seen.has(pi)) expect(seen.get(pi)).toBe(key);
          seen.set(pi, key);
        }
      }
    }
    expect(seen.size).toBe(NR_PCP_LISTS_FT);
  });
});
