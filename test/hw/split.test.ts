import { describe, expect, it } from 'vitest';
import { PTE_A, PTE_D, PTE_G, PTE_PS, PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { checkPageTables } from '../../src/check/pagetable-invariants.js';
import {
  ENOMEM, EINVAL, PteRef, lookupAddress, mapPmd, mapPte, mapPud, pgdAlloc, splitHugePmd, splitHugePud,
} from '../../src/kernel/mm/pgtable.js';
import { GB1, KB4, KERNEL_VA, MB2, USER_VA, testMachine } from './helpers.js';

describe('splitting huge mappings', () => {
  it('splitting a 2 MiB mapping allocates exactly one page-table page and keeps every translation', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    const huge = m.alloc.allocPages(0, 9, 0);
    mapPmd(m.env, 0, root, USER_VA, huge, PTE_RW | PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    mmu.access(USER_VA + 5 * KB4, true, true); // sets A and D on the PDE

    const tables = m.counter(0, 'pageTablesAllocated');
    const frames = m.alloc.allocated;
    expect(splitHugePmd(m.env, 0, root, USER_VA + 0x1234)).toBe(0);
    expect(m.counter(0, 'pageTablesAllocated')).toBe(tables + 1);
    expect(m.alloc.allocated).toBe(frames + 1);

    const ref = new PteRef();
    for (let i = 0; i < 512; i++) {
      expect(lookupAddress(m.env, root, USER_VA + i * KB4, ref)).toBe(1);
      expect(ref.pfn).toBe(huge + i);
      expect(ref.prot & (PTE_RW | PTE_US | PTE_A | PTE_D | PTE_PS)).toBe(PTE_RW | PTE_US | PTE_A | PTE_D);
    }
    // The 2 MiB TLB entry still translates the same; after a flush the walk
    // goes through the new table to the same frames.
    expect(mmu.access(USER_VA + 300 * KB4, false, true)).toBe(huge + 300);
    mmu.invlpg(USER_VA);
    for (const i of [0, 300, 511]) expect(mmu.access(USER_VA + i * KB4, false, true)).toBe(huge + i);
    expect(m.counter(0, 'walkLevels')).toBeGreaterThan(0);
    expect(checkPageTables(m.mem, [root])).toEqual([]);
  });

  it('a split that cannot allocate fails with ENOMEM and leaves the 2 MiB mapping in place', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    const huge = m.alloc.allocPages(0, 9, 0);
    mapPmd(m.env, 0, root, USER_VA, huge, PTE_RW | PTE_US);
    m.alloc.failNext = 1;
    expect(splitHugePmd(m.env, 0, root, USER_VA)).toBe(ENOMEM);
    const ref = new PteRef();
    expect(lookupAddress(m.env, root, USER_VA + 7 * KB4, ref)).toBe(2);
    expect(ref.pfn).toBe(huge);
    expect(checkPageTables(m.mem, [root])).toEqual([]);
  });

  it('refuses to split what is not a huge leaf', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    mapPte(m.env, 0, root, USER_VA, m.alloc.allocPages(0, 0, 0), PTE_RW);
    expect(splitHugePmd(m.env, 0, root, USER_VA)).toBe(EINVAL);
    expect(splitHugePmd(m.env, 0, root, USER_VA + GB1)).toBeLessThan(0);
  });

  it('splitting a 1 GiB mapping yields 512 2 MiB leaves, global bit kept', () => {
    const m = testMachine({ memBytes: GB1 });
    const root = pgdAlloc(m.env, 0);
    mapPud(m.env, 0, root, KERNEL_VA, 0, PTE_RW | PTE_G);
    expect(splitHugePud(m.env, 0, root, KERNEL_VA)).toBe(0);
    const ref = new PteRef();
    expect(lookupAddress(m.env, root, KERNEL_VA + 100 * MB2 + 3 * KB4, ref)).toBe(2);
    expect(ref.pfn).toBe(100 * 512);
    expect(ref.prot & (PTE_PS | PTE_G)).toBe(PTE_PS | PTE_G);
    expect(splitHugePmd(m.env, 0, root, KERNEL_VA + 100 * MB2)).toBe(0);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    expect(mmu.access(KERNEL_VA + 100 * MB2 + 3 * KB4, false, false)).toBe(100 * 512 + 3);
    expect(mmu.access(KERNEL_VA + 101 * MB2, false, false)).toBe(101 * 512);
    expect(checkPageTables(m.mem, [root])).toEqual([]);
  });
});
