import { describe, expect, it } from 'vitest';
import { createMachineMemory, defaultShape } from '../../native-layout/index.js';
import { PageAllocator } from '../../src/kernel/page_alloc/index.js';
import { checkAllocator } from '../../src/check/allocator-invariants.js';
import { runAll } from '../sync/workers.js';

const WORKER = new URL('../workers/alloc-stress.mjs', import.meta.url);

describe('the page allocator shared by CPU workers', () => {
  it('hands no frame to two CPUs at once and loses none, with concurrent remote drains', async () => {
    const shape = defaultShape({ memBytes: 32 * 2 ** 20, cpus: 4 });
    const mem = createMachineMemory(shape);
    const alloc = PageAllocator.boot(mem);
    const managed = alloc.freePageCount();
    const results = await runAll(WORKER, [0, 1, 2, 3].map((cpu) => ({ sab: mem.sab, shape, cpu, ops: 40_000, seed: 1000 + cpu })));
    for (const r of results) {
      expect(r['corrupt']).toBe(0);
      expect(r['allocs']).toBeGreaterThan(10_000);
      expect(r['frees']).toBe(r['allocs']);
    }
    expect(checkAllocator(mem)).toEqual([]);
    alloc.drainAllPages(0);
    expect(alloc.freePageCount()).toBe(managed);
    expect(checkAllocator(mem)).toEqual([]);
  });
});
