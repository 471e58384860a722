import { describe, expect, it } from 'vitest';
import { PTE_P, PTE_PS, PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { checkPageTables } from '../../src/check/pagetable-invariants.js';
import { clearEntry, entryWord, ptSlotOf, setEntry } from '../../src/hw/ptstore.js';
import { ptIndex, pteHi, pteLo, ptePfn } from '../../src/hw/pte.js';
import { freePgtablePage, mapPmd, mapPte, mapPud, pgdAlloc } from '../../src/kernel/mm/pgtable.js';
import { GB1, KERNEL_VA, MB2, USER_VA, testMachine, type TestMachine } from './helpers.js';

function healthy() {
  const m = testMachine({ memBytes: GB1 });
  const a = pgdAlloc(m.env, 0);
  const b = pgdAlloc(m.env, 0);
  mapPte(m.env, 0, a, USER_VA, m.alloc.allocPages(0, 0, 0), PTE_RW | PTE_US);
  mapPmd(m.env, 0, a, USER_VA + 4 * MB2, m.alloc.allocPages(0, 9, 0), PTE_RW | PTE_US);
  mapPud(m.env, 0, a, KERNEL_VA, 0, PTE_RW);
  mapPte(m.env, 0, b, USER_VA, m.alloc.allocPages(0, 0, 0), PTE_US);
  return { m, a, b };
}

/** Word of the entry at `level` on the path to va. */
function entryAt(m: TestMachine, root: number, va: number, level: number): number {
  const pt = m.mem.views.ptStore;
  let table = root;
  for (let l = 4; ; l--) {
    const w = entryWord(ptSlotOf(m.mem.views.frame, table), ptIndex(va, l));
    if (l === level) return w;
    table = ptePfn(pt[w], pt[w + 1]);
  }
}

describe('checkPageTables', () => {
  it('passes on healthy trees with 4 KiB, 2 MiB and 1 GiB leaves', () => {
    const { m, a, b } = healthy();
    expect(checkPageTables(m.mem, [a, b])).toEqual([]);
  });

  it('reports a table that is no longer linked (leaked)', () => {
    const { m, a, b } = healthy();
    clearEntry(m.mem.views.ptStore, m.mem.views.ptSeq, entryAt(m, b, USER_VA, 4)); // unhooked, never freed
    const problems = checkPageTables(m.mem, [a, b]);
    expect(problems.some((p) => p.includes('leaked'))).toBe(true);
  });

  it('reports a table linked from two places', () => {
    const { m, a, b } = healthy();
    const pt = m.mem.views.ptStore;
    const wa = entryAt(m, a, USER_VA, 2); // PDE -> a's page table
    const wb = entryAt(m, b, USER_VA, 2); // PDE -> b's page table
    const orphan = ptePfn(pt[wb], pt[wb + 1]);
    setEntry(pt, m.mem.views.ptSeq, wb, pt[wa], pt[wa + 1]);
    const problems = checkPageTables(m.mem, [a, b]);
    expect(problems.some((p) => p.includes('reachable twice'))).toBe(true);
    expect(problems.some((p) => p.includes(`frame ${orphan} is not reachable`))).toBe(true);
  });

  it('reports a root given twice', () => {
    const { m, a, b } = healthy();
    expect(checkPageTables(m.mem, [a, b, a]).some((p) => p.includes('reachable twice'))).toBe(true);
  });

  it('reports a freed table that is still linked', () => {
    const { m, a, b } = healthy();
    const pt = m.mem.views.ptStore;
    const w = entryAt(m, b, USER_VA, 2);
    freePgtablePage(m.env, 0, ptePfn(pt[w], pt[w + 1]));
    expect(checkPageTables(m.mem, [a, b]).some((p) => p.includes('not pagetable'))).toBe(true);
  });

  it('reports an unaligned huge leaf and a leaf outside memory', () => {
    const { m, a, b } = healthy();
    const pt = m.mem.views.ptStore;
    const w = entryAt(m, a, USER_VA + 4 * MB2, 2);
    setEntry(pt, m.mem.views.ptSeq, w, pteLo(513, PTE_P | PTE_PS), pteHi(513, 0));
    const w1 = entryAt(m, b, USER_VA, 1);
    setEntry(pt, m.mem.views.ptSeq, w1, pteLo(1 << 20, PTE_P), pteHi(1 << 20, 0));
    const problems = checkPageTables(m.mem, [a, b]);
    expect(problems.some((p) => p.includes('unaligned pfn 513'))).toBe(true);
    expect(problems.some((p) => p.includes('outside memory'))).toBe(true);
  });
});
