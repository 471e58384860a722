import { describe, expect, it } from 'vitest';
import { FS_ALLOCATED, FS_PAGETABLE, PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { createMachineMemory } from '../../native-layout/memory.js';
import { defaultShape } from '../../native-layout/shape.js';
import { checkAllocator } from '../../src/check/allocator-invariants.js';
import { V_STALE_TLB, firstViolation } from '../../src/check/oracle.js';
import { checkPageTables } from '../../src/check/pagetable-invariants.js';
import { frameState } from '../../src/hw/frames.js';
import { Mmu } from '../../src/hw/mmu.js';
import { initPtSlots } from '../../src/hw/ptstore.js';
import { GFP_KERNEL, PageAllocator } from '../../src/kernel/page_alloc/index.js';
import {
  freePgtables, mapPte, pgdAlloc, pgdFree, pgtableEnv, splitHugePmd, mapPmd, unmapLeaf,
} from '../../src/kernel/mm/pgtable.js';
import { USER_VA } from './helpers.js';

describe('page tables over the real page allocator', () => {
  it('page-table pages are allocator frames: FS_PAGETABLE while linked, back to the buddy when freed', () => {
    const shape = defaultShape({ memBytes: 16 * 1024 * 1024, cpus: 2, ptPages: 64 });
    const mem = createMachineMemory(shape);
    initPtSlots(mem.views.ptSlots, shape.ptPages);
    const alloc = PageAllocator.boot(mem);
    const env = pgtableEnv(mem, alloc, GFP_KERNEL);

    const root = pgdAlloc(env, 0);
    const data = alloc.allocPages(0, 0, GFP_KERNEL);
    const huge = alloc.allocPages(0, 9, GFP_KERNEL);
    expect(mapPte(env, 0, root, USER_VA, data, PTE_RW | PTE_US)).toBe(0);
    expect(mapPmd(env, 0, root, USER_VA + 0x40000000, huge, PTE_RW | PTE_US)).toBe(0);
    expect(splitHugePmd(env, 0, root, USER_VA + 0x40000000)).toBe(0);
    expect(frameState(mem.views.frame, root)).toBe(FS_PAGETABLE);
    expect(checkPageTables(mem, [root])).toEqual([]);
    expect(checkAllocator(mem)).toEqual([]);

    const mmu = new Mmu(mem, 0);
    mmu.writeCr3(root, 1, false);
    expect(mmu.write(USER_VA, 3, 4, true)).toBe(data);
    expect(unmapLeaf(env, root, USER_VA)).toBe(data);
    alloc.freePages(0, data, 0); // before the flush: the oracle must see it
    mmu.read(USER_VA, true);
    expect(firstViolation(mem.views)?.kind).toBe(V_STALE_TLB);

    for (let i = 0; i < 512; i++) expect(unmapLeaf(env, root, USER_VA + 0x40000000 + i * 4096)).toBe(huge + i);
    alloc.freePages(0, huge, 9);
    expect(freePgtables(env, 0, root, 0, 2 ** 47)).toBeGreaterThan(0);
    expect(pgdFree(env, 0, root)).toBe(0);
    expect(frameState(mem.views.frame, root)).not.toBe(FS_ALLOCATED);
    expect(checkPageTables(mem, [])).toEqual([]);
    expect(checkAllocator(mem)).toEqual([]);
  });
});
