// flush_tlb_one_kernel() and a fixmap slot (kernel/mm/fixmap.ts) on one CPU
// that runs two address spaces: without PTI the slot's entry is global and
// one INVLPG drops it under every PCID; with PTI each PCID caches its own
// copy, the INVLPG reaches only the current one, and invalidate_other makes
// choose_new_asid forget the others before they are used again.
import { afterEach, describe, expect, it } from 'vitest';
import { INIT_MM, TLB_GLOBAL } from '../../native-layout/bits.js';
import { CPU_INVALIDATE_OTHER } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { checkPageTables } from '../../src/check/pagetable-invariants.js';
import { clearFixmap, fixToVirt, fixmapInit, setFixmap } from '../../src/kernel/mm/fixmap.js';
import { mmPgd } from '../../src/kernel/mm/mm.js';
import { kernelMachine, processWith, resetMachineState, switchTo } from './kernel-machine.js';

afterEach(resetMachineState);

const SLOT = fixToVirt(0);

function slotInTwoPcids(pti: boolean) {
  const { mem, cpu } = kernelMachine(1);
  const k = cpu[0]!;
  k.pti = pti;
  fixmapInit(k);
  const a = processWith(k, 1);
  const b = processWith(k, 1);
  const pfn = k.alloc.allocPages(0, 0, 0);
  switchTo(k, a);
  setFixmap(k, 0, pfn);
  expect(k.mmu.access(SLOT, false, false)).toBe(pfn);
  const pcidA = k.mmu.cr3Pcid;
  switchTo(k, b);
  expect(k.mmu.access(SLOT, false, false)).toBe(pfn);
  const pcidB = k.mmu.cr3Pcid;
  expect(pcidB).not.toBe(pcidA);
  const invalidateOther = () => k.cpuState[k.cpuAt + CPU_INVALIDATE_OTHER];
  return { mem, k, a, b, pfn, pcidA, pcidB, invalidateOther };
}

describe('flush_tlb_one_kernel', () => {
  it('without PTI the slot is global: one INVLPG drops it under every PCID', () => {
    const { k, pcidA, pcidB, invalidateOther } = slotInTwoPcids(false);
    expect(k.mmu.tlb.probe(SLOT, pcidA) & TLB_GLOBAL).not.toBe(0);
    clearFixmap(k, 0);
    expect(k.mmu.tlb.probePfn(SLOT, pcidA)).toBe(-1);
    expect(k.mmu.tlb.probePfn(SLOT, pcidB)).toBe(-1);
    expect(invalidateOther()).toBe(0);
  });

  it('with PTI it reaches only the current PCID and marks the others, which the next switch forgets', () => {
    const { k, a, pfn, pcidA, pcidB, invalidateOther } = slotInTwoPcids(true);
    expect(k.mmu.tlb.probe(SLOT, pcidA) & TLB_GLOBAL).toBe(0);
    clearFixmap(k, 0);
    expect(k.mmu.tlb.probePfn(SLOT, pcidB)).toBe(-1);
    expect(k.mmu.tlb.probePfn(SLOT, pcidA)).toBe(pfn);
    expect(invalidateOther()).toBe(1);
    switchTo(k, a);
    expect(invalidateOther()).toBe(0);
    expect(k.mmu.tlb.probePfn(SLOT, k.mmu.cr3Pcid)).toBe(-1);
  });

  it('with PTI and invalidate_other dropped, switching back to the first mm finds the old frame still mapped (drop-invalidate-other)', () => {
    const { k, a, pfn, pcidA } = slotInTwoPcids(true);
    injected[BUG['drop-invalidate-other']!] = 1;
    clearFixmap(k, 0);
    switchTo(k, a);
    expect(k.mmu.cr3Pcid).toBe(pcidA);
    expect(k.mmu.tlb.probePfn(SLOT, pcidA)).toBe(pfn);
  });

  it('every address space shares init_mm\'s kernel tables, and the page-table check accepts that sharing', () => {
    const { mem, k, a, b } = slotInTwoPcids(true);
    expect(checkPageTables(mem, [mmPgd(k, INIT_MM), mmPgd(k, a), mmPgd(k, b)])).toEqual([]);
  });
});
