import { describe, expect, it } from 'vitest';
import { PTE_A, PTE_D, PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { entryWord, ptSlotOf } from '../../src/hw/ptstore.js';
import { ptIndex, ptePfn } from '../../src/hw/pte.js';
import { PteRef, lookupAddress, mapPmd, mapPte, pgdAlloc } from '../../src/kernel/mm/pgtable.js';
import { USER_VA, testMachine, type TestMachine } from './helpers.js';

/** lo words of the entries on the path to va, PGD first. */
function pathLo(m: TestMachine, root: number, va: number, levels: number): number[] {
  const pt = m.mem.views.ptStore;
  const out: number[] = [];
  let table = root;
  for (let level = 4; level > 4 - levels; level--) {
    const w = entryWord(ptSlotOf(m.mem.views.frame, table), ptIndex(va, level));
    out.push(pt[w]);
    table = ptePfn(pt[w], pt[w + 1]);
  }
  return out;
}

describe('accessed and dirty bits', () => {
  it('a read walk sets A at every level and leaves D clear', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    mapPte(m.env, 0, root, USER_VA, m.alloc.allocPages(0, 0, 0), PTE_RW | PTE_US);
    expect(pathLo(m, root, USER_VA, 4).every((lo) => (lo & PTE_A) === 0)).toBe(true);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    mmu.access(USER_VA, false, true);
    const path = pathLo(m, root, USER_VA, 4);
    expect(path.every((lo) => (lo & PTE_A) !== 0)).toBe(true);
    expect(path[3]! & PTE_D).toBe(0);
  });

  it('the first write through a clean TLB entry walks again and sets D on the leaf only', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    mapPte(m.env, 0, root, USER_VA, m.alloc.allocPages(0, 0, 0), PTE_RW | PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    mmu.access(USER_VA, false, true);
    mmu.access(USER_VA, true, true);
    expect(m.counter(0, 'walks')).toBe(2);
    const path = pathLo(m, root, USER_VA, 4);
    expect(path.slice(0, 3).every((lo) => (lo & PTE_D) === 0)).toBe(true);
    expect(path[3]! & PTE_D).toBe(PTE_D);
    mmu.access(USER_VA, true, true);
    expect(m.counter(0, 'walks')).toBe(2);
    expect(m.mmu(0).tlb.countValid()).toBe(1); // the refill replaced the clean entry
  });

  it('a write to a 2 MiB page sets A and D on the PDE leaf', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    mapPmd(m.env, 0, root, USER_VA, m.alloc.allocPages(0, 9, 0), PTE_RW | PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    mmu.access(USER_VA + 4096 * 3, true, true);
    const ref = new PteRef();
    expect(lookupAddress(m.env, root, USER_VA, ref)).toBe(2);
    expect(ref.lo & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
  });
});
