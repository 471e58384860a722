import { describe, expect, it } from 'vitest';
import { FRAME_STATE_MASK, FS_ALLOCATED, PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { FAULT_BAD_TABLE, FAULT_NOT_PRESENT } from '../../src/hw/fault.js';
import { frameState } from '../../src/hw/frames.js';
import {
  V_STALE_PSC, V_WALK_NON_PAGETABLE, firstViolation, violationCount,
} from '../../src/check/oracle.js';
import {
  PteRef, allocPgtablePage, freePgtables, lookupAddress, mapPte, pgdAlloc, unmapLeaf,
} from '../../src/kernel/mm/pgtable.js';
import { entryWord, ptSlotOf } from '../../src/hw/ptstore.js';
import { ptIndex, ptePfn } from '../../src/hw/pte.js';
import { USER_VA, testMachine, type TestMachine } from './helpers.js';

const VA1 = USER_VA;
const VA2 = USER_VA + 0x5000; // same 2 MiB region: same page table

/** The level-1 table that maps va. */
function pteTable(m: TestMachine, root: number, va: number): number {
  const pt = m.mem.views.ptStore;
  let table = root;
  for (let level = 4; level > 1; level--) {
    const w = entryWord(ptSlotOf(m.mem.views.frame, table), ptIndex(va, level));
    table = ptePfn(pt[w], pt[w + 1]);
  }
  return table;
}

/** Two pages in one page table, VA1 touched (TLB + PSC), VA2 not. */
function cachedTable() {
  const m = testMachine();
  const root = pgdAlloc(m.env, 0);
  mapPte(m.env, 0, root, VA1, m.alloc.allocPages(0, 0, 0), PTE_RW | PTE_US);
  mapPte(m.env, 0, root, VA2, m.alloc.allocPages(0, 0, 0), PTE_RW | PTE_US);
  const mmu = m.mmu(0);
  mmu.writeCr3(root, 1, false);
  mmu.access(VA1, false, true);
  const table = pteTable(m, root, VA1);
  return { m, root, mmu, table };
}

/** munmap without the flush: clear both PTEs, free every now-empty table. */
function unmapAndFreeTables(m: TestMachine, root: number): void {
  unmapLeaf(m.env, root, VA1);
  unmapLeaf(m.env, root, VA2);
  expect(freePgtables(m.env, 0, root, USER_VA, USER_VA + 0x200000)).toBe(3);
}

describe('the paging-structure cache', () => {
  it('a walk in a 2 MiB region already walked starts from the cached PDE pointer', () => {
    const { m, mmu, root } = cachedTable();
    const levels = m.counter(0, 'walkLevels');
    const ref = new PteRef();
    lookupAddress(m.env, root, VA2, ref);
    expect(mmu.access(VA2, false, true)).toBe(ref.pfn);
    expect(m.counter(0, 'pscHits')).toBe(1);
    expect(m.counter(0, 'walkLevels')).toBe(levels + 1);
  });

  it('a page-table page freed and reused as data without INVLPG is walked through the stale pointer', () => {
    const { m, root, mmu, table } = cachedTable();
    unmapAndFreeTables(m, root);
    let data = -1;
    for (let i = 0; i < 8 && data !== table; i++) data = m.alloc.allocPages(0, 0, 0);
    expect(data).toBe(table);
    expect(frameState(m.mem.views.frame, table) & FRAME_STATE_MASK).toBe(FS_ALLOCATED);

    expect(mmu.access(VA2, false, true)).toBe(FAULT_BAD_TABLE);
    expect(firstViolation(m.mem.views)).toMatchObject({ kind: V_WALK_NON_PAGETABLE, cpu: 0, va: VA2, pfn: table });
  });

  it('a page-table page freed and reused as another table is reported as a stale PSC walk', () => {
    const { m, root, mmu, table } = cachedTable();
    unmapAndFreeTables(m, root);
    let again = -1;
    for (let i = 0; i < 8 && again !== table; i++) again = allocPgtablePage(m.env, 0);
    expect(again).toBe(table);

    expect(mmu.access(VA2, false, true)).toBe(FAULT_NOT_PRESENT); // the new table is empty
    expect(firstViolation(m.mem.views)).toMatchObject({ kind: V_STALE_PSC, va: VA2, pfn: table });
  });

  it('INVLPG before the tables are freed keeps the oracle silent', () => {
    const { m, root, mmu, table } = cachedTable();
    unmapLeaf(m.env, root, VA1);
    unmapLeaf(m.env, root, VA2);
    mmu.invlpg(VA1);
    freePgtables(m.env, 0, root, USER_VA, USER_VA + 0x200000);
    let data = -1;
    for (let i = 0; i < 8 && data !== table; i++) data = m.alloc.allocPages(0, 0, 0);
    expect(mmu.access(VA2, false, true)).toBe(FAULT_NOT_PRESENT);
    expect(violationCount(m.mem.views)).toBe(0);
  });
});
