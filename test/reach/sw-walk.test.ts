// Checked software walks (issue 11): a kernel walker that steps into, or
// holds, a page table that was freed under it reports sw-walk-freed-table
// with the walker, the level and the CPU that freed the table.
import { afterEach, describe, expect, it } from 'vitest';
import { BUG, injected } from '../../src/check/bugs.js';
import { V_SW_WALK_FREED_TABLE, firstViolation, violationCount } from '../../src/check/oracle.js';
import { swWalkStep } from '../../src/check/sw-walk.js';
import { WALK_ZAP } from '../../src/check/walkers.js';
import { sysMadviseDontneed } from '../../src/kernel/mm/madvise.js';
import { mmPgd } from '../../src/kernel/mm/mm.js';
import { retractEmptyPageTables } from '../../src/kernel/mm/retract.js';
import { lockPteOf, unlockPteOf } from '../../src/kernel/mm/rmap.js';
import { pteTablePfn } from '../../src/kernel/mm/zap.js';
import { BASE, PAGE, fileProcessWith, kernelMachine, processWith, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

/** A process mapping 4 pages of file 0 shared, its PTE table populated and then emptied (the table stays). */
function emptyTableProcess(): { k0: ReturnType<typeof kernelMachine>['cpu'][number]; k1: ReturnType<typeof kernelMachine>['cpu'][number]; mm: number; table: number } {
  const m = kernelMachine(2);
  const [k0, k1] = m.cpu as [typeof m.cpu[0], typeof m.cpu[0]];
  const mm = fileProcessWith(k0, 0, 4, true);
  switchTo(k0, mm);
  expect(write(k0, mm, BASE, 7)).toBeGreaterThanOrEqual(0);
  expect(sysMadviseDontneed(k0, mm, BASE, 4)).toBe(0);
  const table = pteTablePfn(k0, mmPgd(k0, mm), BASE * PAGE);
  expect(table).toBeGreaterThanOrEqual(0);
  return { k0, k1, mm, table };
}

describe('checked software walks', () => {
  it('an rmap walker whose locked PTE table is retracted without its lock (8d3c106e19e8 reverted) reports sw-walk-freed-table', () => {
    const { k0, k1, mm, table } = emptyTableProcess();
    // CPU 1 is reclaim inside the table (page_vma_mapped_walk holds its lock).
    const slot = lockPteOf(k1, mm, BASE);
    expect(slot).toBeGreaterThanOrEqual(0);
    injected[BUG['retract-no-pte-lock']!] = 1;
    // CPU 0 is khugepaged: with the bug it does not wait for that lock.
    expect(retractEmptyPageTables(k0, mm)).toBe(1);
    expect(violationCount(k1.views)).toBe(0);
    unlockPteOf(k1, mm, BASE, slot);
    const v = firstViolation(k1.views)!;
    expect(v).toMatchObject({ kind: V_SW_WALK_FREED_TABLE, cpu: 1, pfn: table, swWalker: 'page_vma_mapped_walk', swLevel: 1, swFreedBy: 0 });
    expect(v.va).toBe(BASE * PAGE);
    expect(v.frameGen).not.toBe(v.fillGen);
  });

  it('with the locks taken, a retraction before the walk leaves the walker nothing to lock and nothing to report', () => {
    const { k0, k1, mm } = emptyTableProcess();
    expect(retractEmptyPageTables(k0, mm)).toBe(1);
    expect(lockPteOf(k1, mm, BASE)).toBe(-1);
    expect(violationCount(k1.views)).toBe(0);
  });

  it('a zap walker stepping into a table of another mm, or a freed one, is reported; its own live table is not', () => {
    const m = kernelMachine(2);
    const k = m.cpu[0]!;
    const a = processWith(k, 4);
    const b = processWith(k, 4);
    switchTo(k, a);
    write(k, a, BASE, 1);
    switchTo(k, b);
    write(k, b, BASE, 2);
    const ta = pteTablePfn(k, mmPgd(k, a), BASE * PAGE);
    expect(swWalkStep(k, WALK_ZAP, a, BASE * PAGE, 1, ta)).toBe(true);
    expect(violationCount(k.views)).toBe(0);
    expect(swWalkStep(k, WALK_ZAP, b, BASE * PAGE, 1, ta)).toBe(false);
    expect(firstViolation(k.views)).toMatchObject({ kind: V_SW_WALK_FREED_TABLE, swWalker: 'zap_pte_range', swLevel: 1, pfn: ta });
  });
});
