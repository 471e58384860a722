// Several CPU ids driven from one thread: state is per CPU where the kernel
// keeps it per CPU, shared where it is shared, and nothing is lost between.

import { describe, expect, test } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { COUNTERS_STRIDE } from '../../native-layout/fields.js';
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL, __GFP_RECLAIMABLE } from '../../src/kernel/page_alloc/index.js';
import { machine, pcpCount, violations } from './helpers.js';

describe('several CPUs', () => {
  test('allocations on one CPU freed on another end up cached by the freeing CPU, and all come back', () => {
    const { mem, pa } = machine({ memMiB: 32, cpus: 4, pcpBatch: 7 });
    const gfps = [GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE];
    const live: { pfn: number; order: number; cpu: number }[] = [];
    for (let i = 0; i < 400; i++) {
      const cpu = i % 4;
      const order = [0, 0, 1, 3, 0, 2, 9, 5][i % 8]!;
      const pfn = pa.allocPages(cpu, order, gfps[i % 3]!);
      if (pfn >= 0) live.push({ pfn, order, cpu });
      if (i % 3 === 2 && live.length > 0) {
        const a = live.splice((i * 7) % live.length, 1)[0]!;
        pa.freePages((a.cpu + 1) % 4, a.pfn, a.order);
      }
    }
    expect(violations(mem)).toEqual([]);
    const inUse = live.reduce((n, a) => n + (1 << a.order), 0);
    expect(pa.freePageCount() + inUse).toBe(mem.layout.frames);
    const counters = mem.views.counters;
    let allocs = 0;
    let frees = 0;
    for (let c = 0; c < 4; c++) {
      allocs += counters[c * COUNTERS_STRIDE + C.allocs]!;
      frees += counters[c * COUNTERS_STRIDE + C.frees]!;
    }
    expect(allocs - frees).toBe(live.length);
    for (const a of live) pa.freePages(3 - a.cpu, a.pfn, a.order);
    expect([0, 1, 2, 3].reduce((n, c) => n + pcpCount(mem, c), 0)).toBeGreaterThan(0);
    pa.drainAllPages(1);
    expect(pa.freePageCount()).toBe(mem.layout.frames);
    expect(violations(mem)).toEqual([]);
  });

  test('each CPU counts only its own events', () => {
    const { mem, pa } = machine({ cpus: 4, pcpBatch: 3 });
    const p = pa.allocPages(2, 0, GFP_KERNEL);
    pa.freePages(3, p, 0);
    const at = (c: number, n: keyof typeof C): number => mem.views.counters[c * COUNTERS_STRIDE + C[n]]!;
    expect([0, 1, 2, 3].map((c) => at(c, 'allocs'))).toEqual([0, 0, 1, 0]);
    expect([0, 1, 2, 3].map((c) => at(c, 'frees'))).toEqual([0, 0, 0, 1]);
    expect([0, 1, 2, 3].map((c) => at(c, 'pcpRefills'))).toEqual([0, 0, 1, 0]);
  });

  test('cpu numbers outside the machine are refused', () => {
    const { pa } = machine({ cpus: 2 });
    expect(() => pa.allocPages(2, 0, GFP_KERNEL)).toThrow(/cpu 2 is invalid: use 0..1/);
    expect(() => pa.allocPages(0, 11, GFP_KERNEL)).toThrow(/order 11 is invalid/);
  });
});
