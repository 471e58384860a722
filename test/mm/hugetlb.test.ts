// hugetlb with shared PMD tables (src/kernel/mm/hugetlb.ts): processes
// mapping the hugetlbfs file over the same 1 GiB range share one PMD table;
// one leaving it unshares (its PUD entry only) and flushes the whole range,
// and without that flush (hugetlb-unshare-no-flush, a4a118f2eead reverted)
// its CPU still reads through the table it left; the last user frees the
// table and the file keeps its pages. The end-of-run table check accepts a
// shared table linked once per reference and flags a count that disagrees.
import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_STATE_MASK, FS_PAGETABLE } from '../../native-layout/bits.js';
import { FRAME_STRIDE, FR_FLAGS, FR_REFCOUNT } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { checkPageTables } from '../../src/check/pagetable-invariants.js';
import { FAULT_SIGSEGV } from '../../src/kernel/mm/fault.js';
import {
  HPAGE_PAGES, PUD_PAGES, VM_HUGETLB_SHARED, forEachHugetlbPage, hugetlbFileInit, hugetlbTally,
} from '../../src/kernel/mm/hugetlb.js';
import { mmAlloc, mmPgd } from '../../src/kernel/mm/mm.js';
import { sysMmap } from '../../src/kernel/mm/mmap.js';
import { sysMunmap } from '../../src/kernel/mm/munmap.js';
import { pudEntry } from '../../src/kernel/mm/pgtable.js';
import { readHi, readLo } from '../../src/hw/ptstore.js';
import { ptePfn } from '../../src/hw/pte.js';
import { PAGE, kernelMachine, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const HUGE = 0x2000000;

/** Two processes, each on its own CPU, both mapping the 2-page file at HUGE; each wrote one page of each huge page. */
function twoSharers() {
  const m = kernelMachine(4, { memBytes: 32 * 2 ** 20 });
  const [k0, k1] = m.cpu as [typeof m.cpu[0], typeof m.cpu[0]];
  expect(hugetlbFileInit(k0, 2)).toBe(2);
  const a = mmAlloc(k0);
  const b = mmAlloc(k0);
  switchTo(k0, a);
  switchTo(k1, b);
  expect(sysMmap(k0, a, HUGE, PUD_PAGES, VM_HUGETLB_SHARED)).toBe(0);
  expect(sysMmap(k1, b, HUGE, PUD_PAGES, VM_HUGETLB_SHARED)).toBe(0);
  hugetlbTally.shares = 0;
  hugetlbTally.unshares = 0;
  for (let j = 0; j < 2; j++) {
    expect(write(k0, a, HUGE + j * HPAGE_PAGES + 1, 10 + j)).toBeGreaterThanOrEqual(0);
    expect(write(k1, b, HUGE + j * HPAGE_PAGES + 2, 20 + j)).toBeGreaterThanOrEqual(0);
  }
  return { ...m, k0, k1, a, b };
}

/** The PMD table mm's PUD entry for HUGE links, -1 none. */
function pmdTable(k: ReturnType<typeof twoSharers>['k0'], mm: number): number {
  const w = pudEntry(k.env, k.cpu, mmPgd(k, mm), HUGE * PAGE, false);
  if (w < 0 || (readLo(k.env.pt, w) & 1) === 0) return -1;
  return ptePfn(readLo(k.env.pt, w), readHi(k.env.pt, w));
}

const refcount = (k: ReturnType<typeof twoSharers>['k0'], pfn: number): number => k.frame[pfn * FRAME_STRIDE + FR_REFCOUNT]!;

describe('hugetlb shared PMD tables', () => {
  it('the second process to fault links the first one\'s PMD table, with a reference, and both see the same pages', () => {
    const { k0, k1, a, b, mem } = twoSharers();
    const table = pmdTable(k0, a);
    expect(table).toBeGreaterThanOrEqual(0);
    expect(pmdTable(k1, b)).toBe(table);
    expect(refcount(k0, table)).toBe(2);
    expect(hugetlbTally.shares).toBe(1);
    // One process reads what the other wrote: the same 2 MiB pages.
    expect(read(k1, b, HUGE + 1) & 0xffff).toBe(10);
    expect(read(k0, a, HUGE + HPAGE_PAGES + 2) & 0xffff).toBe(21);
    // Each file page: the file's reference and the one leaf (in the one table).
    forEachHugetlbPage(mem.views.hugetlb, (pfn) => expect(refcount(k0, pfn)).toBe(2));
    expect(checkPageTables(mem, [mmPgd(k0, 0), mmPgd(k0, a), mmPgd(k0, b)])).toEqual([]);
  });

  it('a process leaving a shared table clears its PUD entry only and flushes the whole 1 GiB: both its pages fault', () => {
    const { k0, k1, a, b } = twoSharers();
    const table = pmdTable(k0, a);
    expect(sysMunmap(k0, a, HUGE, PUD_PAGES)).toBe(0);
    expect(hugetlbTally.unshares).toBe(1);
    expect(pmdTable(k0, a)).toBe(-1);
    expect(refcount(k0, table)).toBe(1);
    expect(read(k0, a, HUGE + 1)).toBe(FAULT_SIGSEGV);
    expect(read(k0, a, HUGE + HPAGE_PAGES + 1)).toBe(FAULT_SIGSEGV);
    // The other process keeps the table and its pages.
    expect(pmdTable(k1, b)).toBe(table);
    expect(read(k1, b, HUGE + 1) & 0xffff).toBe(10);
  });

  it('with hugetlb-unshare-no-flush the leaving process still reads a page through the table it left', () => {
    const { k0, a } = twoSharers();
    injected[BUG['hugetlb-unshare-no-flush']!] = 1;
    expect(sysMunmap(k0, a, HUGE, PUD_PAGES)).toBe(0);
    expect(pmdTable(k0, a)).toBe(-1);
    // No VMA and no PUD entry, yet the cached 2 MiB translation answers.
    expect(read(k0, a, HUGE + HPAGE_PAGES + 1) & 0xffff).toBe(11);
  });

  it('the last user frees the table; the file keeps its pages, each with only the file\'s reference', () => {
    const { k0, k1, a, b, mem } = twoSharers();
    const table = pmdTable(k0, a);
    expect(sysMunmap(k0, a, HUGE, PUD_PAGES)).toBe(0);
    expect(sysMunmap(k1, b, HUGE, PUD_PAGES)).toBe(0);
    expect(hugetlbTally.unshares).toBe(1);
    expect(k0.frame[table * FRAME_STRIDE + FR_FLAGS]! & FRAME_STATE_MASK).not.toBe(FS_PAGETABLE);
    expect(read(k1, b, HUGE + 1)).toBe(FAULT_SIGSEGV);
    forEachHugetlbPage(mem.views.hugetlb, (pfn) => expect(refcount(k0, pfn)).toBe(1));
    // Mapped again, the file still holds what was written.
    expect(sysMmap(k1, b, HUGE, PUD_PAGES, VM_HUGETLB_SHARED)).toBe(0);
    expect(read(k1, b, HUGE + HPAGE_PAGES + 1) & 0xffff).toBe(11);
  });

  it('the table check flags a shared table whose reference count disagrees with the entries linking it', () => {
    const { k0, a, b, mem } = twoSharers();
    const table = pmdTable(k0, a);
    Atomics.add(k0.frame, table * FRAME_STRIDE + FR_REFCOUNT, 1);
    expect(checkPageTables(mem, [mmPgd(k0, 0), mmPgd(k0, a), mmPgd(k0, b)])).toEqual([`shared PMD table ${table} holds 3 references but 2 entries link it`]);
    Atomics.sub(k0.frame, table * FRAME_STRIDE + FR_REFCOUNT, 1);
  });
});
