// Per-CPU lists: LIFO from the head, refill in batches, drain from the tail
// at high, per-CPU isolation, trylock fallback, sizing.

import { describe, expect, test } from 'vitest';
import {
  FS_FREE_HEAD, FS_FREE_TAIL, FS_PCP, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE, MIGRATE_MOVABLE, MIGRATE_UNMOVABLE,
  NR_LOWORDER_PCP_LISTS,
} from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import {
  COUNTERS_STRIDE, PCP_BATCH, PCP_HIGH, PCP_LOCK, PCP_STRIDE, ZONE_FREE_PAGES, ZONE_PCP_BATCH, ZONE_PCP_HIGH,
  ZONE_WMARK_LOW,
} from '../../native-layout/fields.js';
import { PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import { spinLock, spinUnlock } from '../../src/sync/spinlock.js';
import {
  GFP_HIGHUSER_MOVABLE, GFP_KERNEL, orderToPindex, pcpAllowedOrder,
} from '../../src/kernel/page_alloc/index.js';
import { setPageblockMigratetype } from '../../src/kernel/page_alloc/pageblock.js';
import { zoneBatchsize, zoneHighsize, zoneWatermarks } from '../../src/kernel/page_alloc/zone.js';
import { frameState, freeList, machine, pcpCount, pcpList, violations } from './helpers.js';

const UNMOV0 = orderToPindex(MIGRATE_UNMOVABLE, 0);
const counter = (mem: { views: { counters: Float64Array } }, cpu: number, name: keyof typeof C): number =>
  mem.views.counters[cpu * COUNTERS_STRIDE + C[name]]!;

describe('which orders are cached', () => {
  test('orders 0..3 and the THP order have pcp lists; the others go to the buddy', () => {
    for (let o = 0; o <= 10; o++) expect(pcpAllowedOrder(o)).toBe(o <= 3 || o === PAGEBLOCK_ORDER);
    const { mem, pa } = machine({ pcpHigh: 4096 });
    const big = pa.allocPages(0, 5, GFP_KERNEL);
    pa.freePages(0, big, 5);
    expect(pcpCount(mem, 0)).toBe(0);
    const thp = pa.allocPages(0, PAGEBLOCK_ORDER, GFP_HIGHUSER_MOVABLE);
    pa.freePages(0, thp, PAGEBLOCK_ORDER);
    expect(pcpList(mem, 0, NR_LOWORDER_PCP_LISTS + 1)).toEqual([thp]);
    expect(pcpCount(mem, 0)).toBe(512);
  });
});

describe('allocation', () => {
  test('a refill takes one batch from the buddy and hands frames out from the head (ascending after a split)', () => {
    const { mem, pa } = machine({ pcpBatch: 7 });
    const first = pa.allocPages(0, 0, GFP_KERNEL);
    expect(first).toBe(0);
    expect(pcpList(mem, 0, UNMOV0)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(pcpCount(mem, 0)).toBe(6);
    expect(mem.views.zone[ZONE_FREE_PAGES]).toBe(mem.layout.frames - 7);
    expect(counter(mem, 0, 'pcpRefills')).toBe(1);
    expect([1, 2, 3].map(() => pa.allocPages(0, 0, GFP_KERNEL))).toEqual([1, 2, 3]);
    expect(counter(mem, 0, 'pcpRefills')).toBe(1);
    expect(violations(mem)).toEqual([]);
  });

  test('higher orders refill fewer blocks: max(batch >> order, 2)', () => {
    const { mem, pa } = machine({ pcpBatch: 15 });
    pa.allocPages(0, 2, GFP_KERNEL);
    expect(pcpList(mem, 0, orderToPindex(MIGRATE_UNMOVABLE, 2))).toHaveLength(2); // 15 >> 2 = 3 blocks, one taken
    pa.allocPages(1, 3, GFP_KERNEL);
    expect(pcpList(mem, 1, orderToPindex(MIGRATE_UNMOVABLE, 3))).toHaveLength(1); // max(15 >> 3, 2) = 2
  });

  test('LIFO: the last frame freed is the first handed out again', () => {
    const { mem, pa } = machine({ pcpBatch: 7 });
    const x = pa.allocPages(0, 0, GFP_KERNEL);
    const y = pa.allocPages(0, 0, GFP_KERNEL);
    pa.freePages(0, x, 0);
    pa.freePages(0, y, 0);
    expect(pcpList(mem, 0, UNMOV0).slice(0, 2)).toEqual([y, x]);
    expect(pa.allocPages(0, 0, GFP_KERNEL)).toBe(y);
    expect(pa.allocPages(0, 0, GFP_KERNEL)).toBe(x);
  });
});

describe('freeing', () => {
  test('at high the CPU drains its coldest frames from the tail, in batch-sized chunks, keeping a batch', () => {
    const { mem, pa } = machine({ memMiB: 16, pcpBatch: 7, pcpHigh: 28 });
    const frames = Array.from({ length: 40 }, () => pa.allocPages(1, 0, GFP_KERNEL));
    pa.drainAllPages(1);
    expect(pcpCount(mem, 0)).toBe(0);
    for (let i = 0; i < 27; i++) pa.freePages(0, frames[i]!, 0);
    expect(pcpCount(mem, 0)).toBe(27);
    expect(counter(mem, 0, 'pcpDrains')).toBe(0);
    pa.freePages(0, frames[27]!, 0); // count reaches high: free clamp(28 frees, 7, 28 - 7) = 21
    expect(pcpCount(mem, 0)).toBe(7);
    expect(counter(mem, 0, 'pcpDrains')).toBe(3);
    expect(pcpList(mem, 0, UNMOV0)).toEqual(frames.slice(21, 28).reverse());
    for (let i = 0; i < 21; i++) expect([FS_FREE_HEAD, FS_FREE_TAIL]).toContain(frameState(mem, frames[i]!));
    expect(violations(mem)).toEqual([]);
  });

  test('per-CPU isolation: a frame freed on cpu 1 is cached there and only cpu 1 gets it back', () => {
    const { mem, pa } = machine({ pcpBatch: 3 });
    const p = pa.allocPages(0, 0, GFP_KERNEL);
    pa.freePages(1, p, 0);
    expect(pcpList(mem, 1, UNMOV0)).toEqual([p]);
    expect(pcpList(mem, 0, UNMOV0)).not.toContain(p);
    const others = Array.from({ length: 10 }, () => pa.allocPages(0, 0, GFP_KERNEL));
    expect(others).not.toContain(p);
    expect(pa.allocPages(1, 0, GFP_KERNEL)).toBe(p);
    expect(violations(mem)).toEqual([]);
  });

  test('a busy pcp lock sends frees and allocations straight to the buddy', () => {
    const { mem, pa } = machine({ pcpBatch: 7 });
    const p = pa.allocPages(0, 0, GFP_KERNEL);
    pa.drainLocalPages(0);
    const lock = mem.views.pcp;
    spinLock(lock, 0 * PCP_STRIDE + PCP_LOCK); // as if a remote drain held it
    try {
      pa.freePages(0, p, 0);
      expect(pcpCount(mem, 0)).toBe(0);
      expect([FS_FREE_HEAD, FS_FREE_TAIL]).toContain(frameState(mem, p));
      const q = pa.allocPages(0, 0, GFP_KERNEL);
      expect(q).toBeGreaterThanOrEqual(0);
      expect(pcpCount(mem, 0)).toBe(0);
      expect(counter(mem, 0, 'pcpRefills')).toBe(1);
    } finally {
      spinUnlock(lock, 0 * PCP_STRIDE + PCP_LOCK);
    }
    expect(violations(mem)).toEqual([]);
  });

  test('frees into an isolated block bypass the pcp; highatomic ones ride the movable list and drain to their own', () => {
    const { mem, pa } = machine({ pcpHigh: 4096 });
    const pb = mem.views.pageblock;
    const iso = pa.allocPages(0, PAGEBLOCK_ORDER, GFP_HIGHUSER_MOVABLE);
    const atomic = pa.allocPages(0, PAGEBLOCK_ORDER, GFP_HIGHUSER_MOVABLE);
    setPageblockMigratetype(pb, iso, MIGRATE_ISOLATE);
    setPageblockMigratetype(pb, atomic, MIGRATE_HIGHATOMIC);
    pa.freePages(0, iso, PAGEBLOCK_ORDER);
    expect(freeList(mem, PAGEBLOCK_ORDER, MIGRATE_ISOLATE)).toEqual([iso]);
    pa.freePages(0, atomic, PAGEBLOCK_ORDER);
    expect(pcpList(mem, 0, orderToPindex(MIGRATE_MOVABLE, PAGEBLOCK_ORDER))).toEqual([atomic]);
    expect(frameState(mem, atomic)).toBe(FS_PCP);
    pa.drainLocalPages(0);
    expect(freeList(mem, PAGEBLOCK_ORDER, MIGRATE_HIGHATOMIC)).toEqual([atomic]);
    expect(violations(mem)).toEqual([]);
  });
});

describe('draining', () => {
  test('drain_all_pages empties every CPU and loses nothing', () => {
    const { mem, pa } = machine({ pcpBatch: 7 });
    for (let cpu = 0; cpu < 4; cpu++) {
      const got = [0, 1, 2].map((o) => pa.allocPages(cpu, o, cpu & 1 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE));
      got.forEach((p, o) => pa.freePages(cpu, p, o));
    }
    const before = pa.freePageCount();
    expect([0, 1, 2, 3].some((c) => pcpCount(mem, c) > 0)).toBe(true);
    pa.drainAllPages(2);
    for (let c = 0; c < 4; c++) expect(pcpCount(mem, c)).toBe(0);
    expect(pa.freePageCount()).toBe(before);
    expect(pa.freePageCount()).toBe(mem.layout.frames);
    expect(violations(mem)).toEqual([]);
  });

  test('drain_local_pages only touches the calling CPU', () => {
    const { mem, pa } = machine({ pcpBatch: 7 });
    pa.allocPages(0, 0, GFP_KERNEL);
    pa.allocPages(1, 0, GFP_KERNEL);
    pa.drainLocalPages(0);
    expect(pcpCount(mem, 0)).toBe(0);
    expect(pcpCount(mem, 1)).toBe(6);
  });
});

describe('sizing', () => {
  test('zone_batchsize: 63 from 1 GiB up, small for small test zones; high is at least 4 x batch', () => {
    const GiB = 262144;
    expect(zoneBatchsize(GiB)).toBe(63);
    expect(zoneBatchsize(16 * GiB)).toBe(63);
    expect(zoneBatchsize(65536)).toBe(15);
    expect(zoneBatchsize(8192)).toBe(1);
    expect(zoneBatchsize(4096)).toBe(1);
    const wm = zoneWatermarks(GiB);
    expect(wm.min).toBe(1024);
    expect(wm.low).toBeGreaterThan(wm.min);
    expect(wm.high).toBeGreaterThan(wm.low);
    expect(zoneHighsize(wm.low, 63, 4)).toBe(Math.max(Math.floor(wm.low / 4), 252));
    expect(zoneHighsize(10, 63, 64)).toBe(252);
  });

  test('a 1 GiB machine boots with batch 63 on every CPU', () => {
    const { mem } = machine({ memMiB: 1024, cpus: 2 });
    const zone = mem.views.zone;
    expect(zone[ZONE_PCP_BATCH]).toBe(63);
    expect(zone[ZONE_PCP_HIGH]).toBe(Math.max(Math.floor(zone[ZONE_WMARK_LOW]! / 2), 252));
    for (const c of [0, 1]) {
      expect(mem.views.pcp[c * PCP_STRIDE + PCP_BATCH]).toBe(63);
      expect(mem.views.pcp[c * PCP_STRIDE + PCP_HIGH]).toBe(zone[ZONE_PCP_HIGH]);
    }
  });
});
