// The oracle itself: each kind of damage is reported, healthy states are not.

import { describe, expect, test } from 'vitest';
import { FRAME_F_HEAD, FS_ALLOCATED, FS_FREE_TAIL, MIGRATE_MOVABLE, MIGRATE_UNMOVABLE, NR_FREETYPES } from '../../native-layout/bits.js';
import {
  FRAME_STRIDE, FR_FLAGS, FR_NEXT, PCP_COUNT, ZONE_FREE_PAGES, ZONE_FREE_TAIL, ZONE_NR_FREE,
} from '../../native-layout/fields.js';
import { AllocatorInvariantError, assertAllocatorHealthy, checkAllocator } from '../../src/check/allocator-invariants.js';
import { GFP_KERNEL } from '../../src/kernel/page_alloc/index.js';
import { setPageblockMigratetype } from '../../src/kernel/page_alloc/pageblock.js';
import { machine } from './helpers.js';

const kinds = (mem: Parameters<typeof checkAllocator>[0]): string[] => [...new Set(checkAllocator(mem).map((v) => v.kind))];

describe('checkAllocator', () => {
  test('a booted and a busy zone are healthy', () => {
    const { mem, pa } = machine({ pcpBatch: 7 });
    expect(checkAllocator(mem)).toEqual([]);
    for (let i = 0; i < 50; i++) pa.allocPages(i % 4, i % 4, GFP_KERNEL);
    expect(() => assertAllocatorHealthy(mem)).not.toThrow();
  });

  test('counter drift is reported', () => {
    const { mem } = machine();
    mem.views.zone[ZONE_NR_FREE + 10]! += 1;
    mem.views.zone[ZONE_FREE_PAGES]! -= 1;
    mem.views.pcp[PCP_COUNT] = 3;
    expect(checkAllocator(mem).filter((v) => v.kind === 'counter')).toHaveLength(3);
  });

  test('a broken link and a wrong tail are list violations, and the walk terminates on a cycle', () => {
    const { mem } = machine();
    const f = mem.views.frame;
    f[1024 * FRAME_STRIDE + FR_NEXT] = 0; // 0 -> 1024 -> 0 -> ...
    expect(kinds(mem)).toContain('list');
    mem.views.zone[ZONE_FREE_TAIL + 10 * NR_FREETYPES + MIGRATE_MOVABLE] = 5;
    expect(kinds(mem)).toContain('list');
  });

  test('a frame that no list or allocation accounts for is a conservation violation', () => {
    const { mem, pa } = machine({ pcpBatch: 1 });
    const p = pa.allocPages(0, 0, GFP_KERNEL);
    mem.views.frame[p * FRAME_STRIDE + FR_FLAGS] = FS_FREE_TAIL; // as if an expand() forgot it
    const v = checkAllocator(mem);
    expect(v.map((x) => x.kind)).toContain('conservation');
    expect(v.some((x) => x.pfn === p)).toBe(true);
  });

  test('a free block covering an allocated frame is reported (double allocation)', () => {
    const { mem, pa } = machine({ pcpBatch: 1 });
    expect([pa.allocPages(0, 0, GFP_KERNEL), pa.allocPages(0, 0, GFP_KERNEL)]).toEqual([0, 1]);
    // Free block 2 (order 1) covers frame 3; make 3 look handed out as well.
    mem.views.frame[3 * FRAME_STRIDE + FR_FLAGS] = FS_ALLOCATED | FRAME_F_HEAD;
    const v = checkAllocator(mem);
    expect(v.some((x) => x.kind === 'conservation' && x.pfn === 3)).toBe(true);
  });

  test('a free block on a list its pageblock does not have is a pageblock violation', () => {
    const { mem } = machine();
    setPageblockMigratetype(mem.views.pageblock, 512, MIGRATE_UNMOVABLE);
    expect(kinds(mem)).toEqual(['pageblock']);
  });

  test('an allocation whose tail was overwritten is reported', () => {
    const { mem, pa } = machine();
    const p = pa.allocPages(0, 2, GFP_KERNEL);
    mem.views.frame[(p + 1) * FRAME_STRIDE + FR_FLAGS] = FS_ALLOCATED;
    expect(kinds(mem)).toContain('allocated');
  });

  test('assertAllocatorHealthy lists every message', () => {
    const { mem } = machine();
    mem.views.zone[ZONE_FREE_PAGES] = 7;
    expect(() => assertAllocatorHealthy(mem)).toThrow(AllocatorInvariantError);
    expect(() => assertAllocatorHealthy(mem)).toThrow(/NR_FREE_PAGES is 7/);
  });
});
