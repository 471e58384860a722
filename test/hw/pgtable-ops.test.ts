import { describe, expect, it } from 'vitest';
import {
  FRAME_STATE_MASK, FS_FREE_HEAD, FS_FREE_TAIL, FS_PAGETABLE, FS_PCP, PTE_A, PTE_D, PTE_G, PTE_RW, PTE_US,
} from '../../native-layout/bits.js';
import { checkPageTables } from '../../src/check/pagetable-invariants.js';
import { frameState } from '../../src/hw/frames.js';
import { freePtSlotCount } from '../../src/hw/ptstore.js';
import { PROT_NX } from '../../src/hw/pte.js';
import {
  EBUSY, EEXIST, EINVAL, ENOENT, ENOMEM, PteRef, changeProtection, freePgtablePage, freePgtables, lookupAddress,
  mapPmd, mapPte, pgdAlloc, pgdFree, unmapLeaf,
} from '../../src/kernel/mm/pgtable.js';
import { KB4, MB2, USER_VA, testMachine } from './helpers.js';

describe('page-table mapping operations', () => {
  it('mapping allocates the missing intermediate tables once', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    expect(m.counter(0, 'pageTablesAllocated')).toBe(1);
    mapPte(m.env, 0, root, USER_VA, 100, PTE_RW);
    expect(m.counter(0, 'pageTablesAllocated')).toBe(4);
    mapPte(m.env, 0, root, USER_VA + KB4, 101, PTE_RW);
    mapPmd(m.env, 0, root, USER_VA + MB2, 512, PTE_RW);
    expect(m.counter(0, 'pageTablesAllocated')).toBe(4);
    expect(checkPageTables(m.mem, [root])).toEqual([]);
  });

  it('rejects unaligned or out-of-range mappings and refuses to overwrite', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    expect(mapPte(m.env, 0, root, USER_VA + 1, 100, PTE_RW)).toBe(EINVAL);
    expect(mapPmd(m.env, 0, root, USER_VA + KB4, 512, PTE_RW)).toBe(EINVAL);
    expect(mapPmd(m.env, 0, root, USER_VA, 513, PTE_RW)).toBe(EINVAL);
    expect(mapPte(m.env, 0, root, USER_VA, m.mem.layout.frames, PTE_RW)).toBe(EINVAL);
    expect(mapPte(m.env, 0, root, 2 ** 48, 1, PTE_RW)).toBe(EINVAL);
    expect(mapPte(m.env, 0, root, USER_VA, 100, PTE_RW)).toBe(0);
    expect(mapPte(m.env, 0, root, USER_VA, 101, PTE_RW)).toBe(EEXIST);
    expect(mapPmd(m.env, 0, root, USER_VA, 512, PTE_RW)).toBe(EEXIST); // a table is there
    mapPmd(m.env, 0, root, USER_VA + MB2, 512, PTE_RW);
    expect(mapPte(m.env, 0, root, USER_VA + MB2 + KB4, 7, PTE_RW)).toBe(EEXIST); // under a huge leaf
  });

  it('unmap clears the leaf and returns the frame it mapped, with its A and D bits', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    mapPte(m.env, 0, root, USER_VA, 100, PTE_RW | PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    mmu.access(USER_VA, true, true);
    const old = new PteRef();
    expect(unmapLeaf(m.env, root, USER_VA, old)).toBe(100);
    expect(old.lo & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
    expect(unmapLeaf(m.env, root, USER_VA)).toBe(ENOENT);
    expect(lookupAddress(m.env, root, USER_VA, old)).toBe(ENOENT);
  });

  it('changing protection keeps the frame and the hardware-set A and D bits', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    mapPte(m.env, 0, root, USER_VA, 100, PTE_RW | PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    mmu.access(USER_VA, true, true);
    expect(changeProtection(m.env, root, USER_VA, PTE_US | PTE_G)).toBe(0);
    const ref = new PteRef();
    lookupAddress(m.env, root, USER_VA, ref);
    expect(ref.pfn).toBe(100);
    expect(ref.prot & (PTE_RW | PTE_US | PTE_G | PTE_A | PTE_D)).toBe(PTE_US | PTE_G | PTE_A | PTE_D);
    expect(changeProtection(m.env, root, USER_VA, PTE_US | PROT_NX)).toBe(0);
    lookupAddress(m.env, root, USER_VA, ref);
    expect(ref.pfn).toBe(100);
    expect(ref.prot & (PROT_NX | PTE_D)).toBe(PROT_NX | PTE_D);
    expect(changeProtection(m.env, root, USER_VA + KB4, PTE_US)).toBe(ENOENT);
  });

  it('freePgtables frees exactly the tables that map nothing', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    mapPte(m.env, 0, root, USER_VA, 100, PTE_RW);
    mapPte(m.env, 0, root, USER_VA + MB2, 101, PTE_RW); // another PTE table, same PMD table
    unmapLeaf(m.env, root, USER_VA);
    expect(freePgtables(m.env, 0, root, 0, 2 ** 48)).toBe(1);
    expect(lookupAddress(m.env, root, USER_VA + MB2, new PteRef())).toBe(1);
    unmapLeaf(m.env, root, USER_VA + MB2);
    expect(freePgtables(m.env, 0, root, USER_VA + 2 * MB2, USER_VA + 4 * MB2)).toBe(0); // range misses it
    expect(freePgtables(m.env, 0, root, USER_VA, USER_VA + 4 * MB2)).toBe(3);
    expect(checkPageTables(m.mem, [root])).toEqual([]);
    expect(m.counter(0, 'pageTablesFreed')).toBe(4);
  });

  it('with a gather list, tables are unhooked now and freed later', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    mapPte(m.env, 0, root, USER_VA, 100, PTE_RW);
    unmapLeaf(m.env, root, USER_VA);
    const gather: number[] = [];
    expect(freePgtables(m.env, 0, root, USER_VA, USER_VA + MB2, gather)).toBe(3);
    expect(gather.every((pfn) => frameState(m.mem.views.frame, pfn) === FS_PAGETABLE)).toBe(true);
    expect(lookupAddress(m.env, root, USER_VA, new PteRef())).toBe(ENOENT);
    for (const pfn of gather) expect(freePgtablePage(m.env, 0, pfn)).toBe(0);
    expect(freePgtablePage(m.env, 0, gather[0]!)).toBe(EINVAL);
    expect(checkPageTables(m.mem, [root])).toEqual([]);
  });

  it('pgdFree refuses while something is mapped, then frees every table and slot', () => {
    const m = testMachine();
    const slots = freePtSlotCount(m.mem.views.ptSlots);
    const root = pgdAlloc(m.env, 0);
    mapPte(m.env, 0, root, USER_VA, 100, PTE_RW);
    expect(pgdFree(m.env, 0, root)).toBe(EBUSY);
    unmapLeaf(m.env, root, USER_VA);
    expect(pgdFree(m.env, 0, root)).toBe(0);
    expect(freePtSlotCount(m.mem.views.ptSlots)).toBe(slots);
    expect(m.alloc.allocated).toBe(0);
    // Back with the allocator: on this CPU's per-CPU list or in the buddy.
    expect([FS_PCP, FS_FREE_HEAD, FS_FREE_TAIL]).toContain(frameState(m.mem.views.frame, root) & FRAME_STATE_MASK);
    expect(checkPageTables(m.mem, [])).toEqual([]);
  });

  it('a page-table allocation failure returns ENOMEM and maps nothing', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    m.alloc.failNext = 1;
    expect(mapPte(m.env, 0, root, USER_VA, 100, PTE_RW)).toBe(ENOMEM);
    expect(lookupAddress(m.env, root, USER_VA, new PteRef())).toBe(ENOENT);
    m.alloc.failNext = 0;
    expect(mapPte(m.env, 0, root, USER_VA, 100, PTE_RW)).toBe(0);
  });

  it('running out of page-table store slots returns ENOMEM and gives the frame back', () => {
    const m = testMachine({ ptPages: 2 });
    const root = pgdAlloc(m.env, 0);
    const frames = m.alloc.allocated;
    expect(mapPte(m.env, 0, root, USER_VA, 100, PTE_RW)).toBe(ENOMEM); // PUD table ok, PMD table has no slot
    expect(m.alloc.allocated).toBe(frames + 1);
    expect(freePgtables(m.env, 0, root, 0, 2 ** 48)).toBe(1);
    expect(m.alloc.allocated).toBe(frames);
    expect(checkPageTables(m.mem, [root])).toEqual([]);
  });
});
