// The buddy rules: splitting, coalescing, list placement, per-frame state.

import { describe, expect, test } from 'vitest';
import {
  FRAME_F_HEAD, FRAME_F_TAIL, FRAME_F_ZEROED, FS_ALLOCATED, FS_FREE_HEAD, FS_FREE_TAIL, MIGRATE_MOVABLE,
} from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import {
  COUNTERS_STRIDE, FRAME_STRIDE, FR_CONTENT, FR_CONTENT_GEN, FR_FLAGS, FR_REFCOUNT, ZONE_FREE_PAGES,
} from '../../native-layout/fields.js';
import { MAX_PAGE_ORDER } from '../../native-layout/shape.js';
import { pageDelAndExpand } from '../../src/kernel/page_alloc/buddy.js';
import {
  BadPageError, GFP_ATOMIC, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_NOWAIT, GFP_PGTABLE, __GFP_MEMALLOC, __GFP_ZERO,
} from '../../src/kernel/page_alloc/index.js';
import { prepNewPage } from '../../src/kernel/page_alloc/prep.js';
import { zoneLock, zoneUnlock } from '../../src/kernel/page_alloc/zone.js';
import {
  allocAll, frameFlags, frameOrder, frameState, freeList, machine, nrFree, violations,
} from './helpers.js';

const MOV = MIGRATE_MOVABLE;

describe('boot', () => {
  test('all memory is free as max-order movable blocks in ascending order', () => {
    const { mem, pa } = machine({ memMiB: 16 });
    expect(freeList(mem, MAX_PAGE_ORDER, MOV)).toEqual([0, 1024, 2048, 3072]);
    expect(nrFree(mem, MAX_PAGE_ORDER)).toBe(4);
    expect(pa.freePageCount()).toBe(4096);
    expect(frameState(mem, 0)).toBe(FS_FREE_HEAD);
    expect(frameState(mem, 1)).toBe(FS_FREE_TAIL);
    expect(violations(mem)).toEqual([]);
  });
});

describe('expand()', () => {
  test('splitting a max-order block leaves one upper half per order, each with its order', () => {
    const { mem, pa } = machine({ memMiB: 16 });
    const pfn = pa.allocPages(0, 4, GFP_HIGHUSER_MOVABLE); // order 4 bypasses the pcp lists
    expect(pfn).toBe(0);
    for (let o = 4; o < MAX_PAGE_ORDER; o++) {
      expect(freeList(mem, o, MOV)).toEqual([1 << o]);
      expect(frameOrder(mem, 1 << o)).toBe(o);
      expect(frameState(mem, 1 << o)).toBe(FS_FREE_HEAD);
    }
    for (let o = 0; o < 4; o++) expect(freeList(mem, o, MOV)).toEqual([]);
    expect(mem.views.zone[ZONE_FREE_PAGES]).toBe(4096 - 16);
    expect(violations(mem)).toEqual([]);
  });

  test('upper halves go to the head of lists that already hold blocks', () => {
    const { mem, pa } = machine({ memMiB: 16 });
    pa.allocPages(0, 4, GFP_HIGHUSER_MOVABLE);
    const saved = zoneLock(pa.ctx, 0);
    pageDelAndExpand(pa.ctx, 1024, 4, MAX_PAGE_ORDER, MOV);
    zoneUnlock(pa.ctx, 0, saved);
    for (let o = 4; o < MAX_PAGE_ORDER; o++) expect(freeList(mem, o, MOV)).toEqual([1024 + (1 << o), 1 << o]);
    expect(mem.views.zone[ZONE_FREE_PAGES]).toBe(4096 - 32);
    prepNewPage(pa.ctx, 0, 1024, 4, MOV, GFP_HIGHUSER_MOVABLE);
    pa.freePages(0, 1024, 4);
    expect(violations(mem)).toEqual([]);
  });
});

describe('__free_one_page()', () => {
  test('freeing every piece coalesces the zone back into max-order blocks', () => {
    const { mem, pa } = machine({ memMiB: 16, pcpBatch: 7 });
    const live: [number, number][] = [];
    for (const order of [0, 3, 1, 5, 0, 9, 2, 8, 0, 4, 10, 1]) {
      const pfn = pa.allocPages(order % 4, order, order & 1 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE);
      expect(pfn).toBeGreaterThanOrEqual(0);
      live.push([pfn, order]);
    }
    expect(violations(mem)).toEqual([]);
    for (const i of [5, 0, 11, 3, 7, 1, 10, 2, 9, 4, 8, 6]) pa.freePages(i % 4, live[i]![0], live[i]![1]);
    pa.drainAllPages(0);
    expect(violations(mem)).toEqual([]);
    for (let o = 0; o < MAX_PAGE_ORDER; o++) expect(nrFree(mem, o)).toBe(0);
    expect(nrFree(mem, MAX_PAGE_ORDER)).toBe(4);
  });

  test('a block goes to the list tail when its next-order buddy is already free (buddy_merge_likely)', () => {
    const { mem, pa } = machine({ memMiB: 16 });
    const got = [0, 1, 2, 3, 4, 5].map(() => pa.allocPages(0, 4, GFP_HIGHUSER_MOVABLE));
    expect(got).toEqual([0, 16, 32, 48, 64, 80]);
    pa.freePages(0, 64, 4); // order-5 buddy 96 is free: tail
    pa.freePages(0, 0, 4); // order-5 buddy 32 is in use: head
    pa.freePages(0, 16, 4); // merges with 0 into order 5; order-6 buddy 64 is only order 4: head
    expect(freeList(mem, 5, MOV)).toEqual([0, 96]);
    expect(freeList(mem, 4, MOV)).toEqual([64]);
    pa.freePages(0, 32, 4); // buddy 48 in use, but order-5 buddy 0 is free: tail
    expect(freeList(mem, 4, MOV)).toEqual([64, 32]);
    expect(violations(mem)).toEqual([]);
  });

  test('a free block of a smaller order at the buddy position is not merged with', () => {
    const { mem, pa } = machine({ memMiB: 16, pcpBatch: 1 });
    const [a, b, c, d] = [0, 1, 2, 3].map(() => pa.allocPages(0, 0, GFP_KERNEL));
    expect([a, b, c, d]).toEqual([0, 1, 2, 3]);
    pa.freePages(0, 2, 0);
    pa.freePages(0, 0, 0);
    pa.freePages(0, 1, 0);
    pa.drainLocalPages(0);
    expect(frameState(mem, 0)).toBe(FS_FREE_HEAD);
    expect(frameOrder(mem, 0)).toBe(1);
    expect(frameState(mem, 2)).toBe(FS_FREE_HEAD);
    expect(frameOrder(mem, 2)).toBe(0);
    expect(violations(mem)).toEqual([]);
  });
});

describe('frame state', () => {
  test('an allocation marks head and tails allocated with its order and one reference', () => {
    const { mem, pa } = machine();
    const pfn = pa.allocPages(1, 3, GFP_KERNEL);
    expect(frameFlags(mem, pfn) & (FRAME_F_HEAD | FRAME_F_TAIL)).toBe(FRAME_F_HEAD);
    for (let f = pfn; f < pfn + 8; f++) {
      expect(frameState(mem, f)).toBe(FS_ALLOCATED);
      expect(frameOrder(mem, f)).toBe(3);
      expect(mem.views.frame[f * FRAME_STRIDE + FR_REFCOUNT]).toBe(f === pfn ? 1 : 0);
      if (f > pfn) expect(frameFlags(mem, f) & FRAME_F_TAIL).toBe(FRAME_F_TAIL);
    }
  });

  test('every free bumps the content generation of every frame of the block, and nothing else does', () => {
    const { mem, pa } = machine();
    const gen = (f: number): number => mem.views.frame[f * FRAME_STRIDE + FR_CONTENT_GEN]!;
    const pfn = pa.allocPages(0, 2, GFP_KERNEL);
    const before = [0, 1, 2, 3].map((k) => gen(pfn + k));
    pa.freePages(0, pfn, 2);
    expect([0, 1, 2, 3].map((k) => gen(pfn + k))).toEqual(before.map((g) => g + 1));
    pa.drainAllPages(0); // moving cached frames is not a free
    expect([0, 1, 2, 3].map((k) => gen(pfn + k))).toEqual(before.map((g) => g + 1));
    const again = pa.allocPages(0, 2, GFP_KERNEL); // allocation does not bump it either
    expect(again).toBe(pfn);
    expect(gen(pfn)).toBe(before[0]! + 1);
    pa.freePages(0, again, 2);
    expect(gen(pfn)).toBe(before[0]! + 2);
  });

  test('__GFP_ZERO clears the contents and marks every frame zeroed; without it old data stays', () => {
    const { mem, pa } = machine();
    const f = mem.views.frame;
    const pfn = pa.allocPages(0, 1, GFP_KERNEL);
    for (const k of [0, 1]) {
      f[(pfn + k) * FRAME_STRIDE + FR_CONTENT] = 0x00070042;
      f[(pfn + k) * FRAME_STRIDE + FR_FLAGS] = f[(pfn + k) * FRAME_STRIDE + FR_FLAGS]! & ~FRAME_F_ZEROED;
    }
    pa.freePages(0, pfn, 1);
    const stale = pa.allocPages(0, 1, GFP_KERNEL); // LIFO: same frames
    expect(stale).toBe(pfn);
    expect(f[pfn * FRAME_STRIDE + FR_CONTENT]).toBe(0x00070042);
    expect(frameFlags(mem, pfn) & FRAME_F_ZEROED).toBe(0);
    pa.freePages(0, pfn, 1);
    const zeroed = pa.allocPages(0, 1, GFP_KERNEL | __GFP_ZERO);
    expect(zeroed).toBe(pfn);
    for (const k of [0, 1]) {
      expect(f[(pfn + k) * FRAME_STRIDE + FR_CONTENT]).toBe(0);
      expect(frameFlags(mem, pfn + k) & FRAME_F_ZEROED).toBe(FRAME_F_ZEROED);
    }
    expect(mem.views.counters[COUNTERS_STRIDE * 0 + C.zeroedPages]).toBe(2);
    const pt = pa.allocPages(0, 0, GFP_PGTABLE);
    expect(frameFlags(mem, pt) & FRAME_F_ZEROED).toBe(FRAME_F_ZEROED);
  });
});

describe('bad frees', () => {
  test('a double free throws BadPageError naming the pfn and its state', () => {
    const { pa } = machine();
    const pfn = pa.allocPages(0, 0, GFP_KERNEL);
    pa.freePages(0, pfn, 0);
    expect(() => pa.freePages(0, pfn, 0)).toThrow(BadPageError);
    expect(() => pa.freePages(0, pfn, 0)).toThrow(new RegExp(`pfn ${pfn} \\(state pcp\\)`));
    const big = pa.allocPages(0, 5, GFP_KERNEL);
    pa.freePages(0, big, 5);
    expect(() => pa.freePages(1, big, 5)).toThrow(/state free-head/);
  });

  test('freeing a tail, with the wrong order, or a frame never allocated throws', () => {
    const { mem, pa } = machine();
    const pfn = pa.allocPages(0, 2, GFP_KERNEL);
    expect(() => pa.freePages(0, pfn + 1, 0)).toThrow(/tail of another allocation/);
    expect(() => pa.freePages(0, pfn, 1)).toThrow(/allocated as order 2/);
    expect(() => pa.freePages(0, 4000, 0)).toThrow(BadPageError);
    expect(() => pa.freePages(0, 1 << 30, 0)).toThrow(/out of range/);
    expect(violations(mem)).toEqual([]);
  });
});

describe('watermarks (coarse: the min mark for everyone)', () => {
  test('normal requests stop at min, __GFP_HIGH non-blocking ones dig deeper, __GFP_MEMALLOC takes all', () => {
    const { mem, pa } = machine({ memMiB: 16 }); // min 128 frames
    const zone = mem.views.zone;
    allocAll(pa, 0, 0, GFP_KERNEL);
    expect(zone[ZONE_FREE_PAGES]).toBe(128);
    expect(pa.freePageCount()).toBe(128);
    expect(pa.allocPages(0, 0, GFP_NOWAIT)).toBe(-1);
    allocAll(pa, 0, 0, GFP_ATOMIC); // 128 - 128/2 - 64/4 = 48
    expect(zone[ZONE_FREE_PAGES]).toBe(48);
    allocAll(pa, 0, 0, GFP_KERNEL | __GFP_MEMALLOC);
    expect(pa.freePageCount()).toBe(0);
    expect(violations(mem)).toEqual([]);
  });
});

describe('counters', () => {
  test('NR_FREE_PAGES, nr_free and the per-CPU event counters are exact', () => {
    const { mem, pa } = machine({ memMiB: 16, pcpBatch: 7 });
    const cnt = (cpu: number, name: keyof typeof C): number => mem.views.counters[cpu * COUNTERS_STRIDE + C[name]]!;
    const a = pa.allocPages(1, 0, GFP_KERNEL); // refill of 7 claims a movable max-order block for unmovable
    expect(cnt(1, 'allocs')).toBe(1);
    expect(cnt(1, 'pcpRefills')).toBe(1);
    expect(cnt(1, 'fallbackClaims')).toBe(1);
    expect(cnt(1, 'fallbackSteals')).toBe(0);
    expect(cnt(0, 'allocs')).toBe(0);
    expect(mem.views.zone[ZONE_FREE_PAGES]).toBe(4096 - 7);
    expect(pa.freePageCount()).toBe(4095);
    pa.freePages(2, a, 0);
    expect(cnt(2, 'frees')).toBe(1);
    expect(cnt(1, 'frees')).toBe(0);
    pa.drainAllPages(3);
    expect(cnt(3, 'pcpDrains')).toBe(2); // cpu 1's six and cpu 2's one, each one bulk free
    expect(pa.freePageCount()).toBe(4096);
    expect(violations(mem)).toEqual([]);
  });
});
