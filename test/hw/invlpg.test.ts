import { describe, expect, it } from 'vitest';
import { PTE_RW, PTE_US, TLB_GLOBAL } from '../../native-layout/bits.js';
import { mapPmd, pgdAlloc } from '../../src/kernel/mm/pgtable.js';
import { PCID_A, PCID_B, USER_VA, testMachine, twoAddressSpaces } from './helpers.js';

describe('INVLPG', () => {
  it('removes the current PCID\'s entry for va, and nothing else of any PCID', () => {
    const s = twoAddressSpaces();
    const tlb = s.mmu(0).tlb;
    s.mmu(0).invlpg(s.va1);
    expect(tlb.probe(s.va1, PCID_A)).toBe(0);
    expect(tlb.probe(s.va2, PCID_A)).not.toBe(0);
    expect(tlb.probe(s.va1, PCID_B)).not.toBe(0);
    expect(tlb.probe(s.va2, PCID_B)).not.toBe(0);
    expect(tlb.probe(s.vaG, PCID_A) & TLB_GLOBAL).toBe(TLB_GLOBAL);
    expect(s.counter(0, 'invlpg')).toBe(1);
  });

  it('removes the global entry for va, which every PCID was using', () => {
    const s = twoAddressSpaces();
    const tlb = s.mmu(0).tlb;
    expect(tlb.probe(s.vaG, PCID_B)).not.toBe(0);
    s.mmu(0).invlpg(s.vaG);
    expect(tlb.probe(s.vaG, PCID_A)).toBe(0);
    expect(tlb.probe(s.vaG, PCID_B)).toBe(0);
    expect(tlb.countValid()).toBe(4);
  });

  it('drops every paging-structure-cache entry of the current PCID, not of others', () => {
    const s = twoAddressSpaces();
    const psc = s.mmu(0).psc;
    expect(psc.countValid(PCID_A)).toBeGreaterThan(0);
    expect(psc.countValid(PCID_B)).toBeGreaterThan(0);
    const other = psc.countValid(PCID_B);
    s.mmu(0).invlpg(s.va1 + 0x40000000); // an address nothing maps: the PSC still goes
    expect(psc.countValid(PCID_A)).toBe(0);
    expect(psc.countValid(PCID_B)).toBe(other);
  });

  it('removes a 2 MiB entry when va is anywhere inside it', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    mapPmd(m.env, 0, root, USER_VA, m.alloc.allocPages(0, 9, 0), PTE_RW | PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    mmu.access(USER_VA, false, true);
    expect(mmu.tlb.probe(USER_VA + 0x1ff000, 1)).not.toBe(0);
    mmu.invlpg(USER_VA + 0x123000);
    expect(mmu.tlb.countValid()).toBe(0);
  });
});
