import { describe, expect, it } from 'vitest';
import {
  INVPCID_ADDR, INVPCID_ALL_INCL_GLOBAL, INVPCID_ALL_NON_GLOBAL, INVPCID_SINGLE_CTX,
} from '../../src/hw/mmu.js';
import { PCID_A, PCID_B, twoAddressSpaces, type TwoSpaces } from './helpers.js';

/** Which of the five entries survive: [A va1, A va2, B va1, B va2, global]. */
function survivors(s: TwoSpaces): boolean[] {
  const tlb = s.mmu(0).tlb;
  return [
    tlb.probe(s.va1, PCID_A) !== 0,
    tlb.probe(s.va2, PCID_A) !== 0,
    tlb.probe(s.va1, PCID_B) !== 0,
    tlb.probe(s.va2, PCID_B) !== 0,
    tlb.probe(s.vaG, 99) !== 0,
  ];
}

describe('INVPCID', () => {
  it('starts from five distinct entries', () => {
    const s = twoAddressSpaces();
    expect(survivors(s)).toEqual([true, true, true, true, true]);
    expect(s.mmu(0).tlb.countValid()).toBe(5);
  });

  it('type 0 removes one address of one PCID; other PCIDs and globals survive', () => {
    const s = twoAddressSpaces();
    s.mmu(0).invpcid(INVPCID_ADDR, PCID_B, s.va1);
    expect(survivors(s)).toEqual([true, true, false, true, true]);
    s.mmu(0).invpcid(INVPCID_ADDR, PCID_A, s.vaG);
    expect(survivors(s)[4]).toBe(true);
    expect(s.mmu(0).psc.countValid(PCID_B)).toBe(0);
    expect(s.mmu(0).psc.countValid(PCID_A)).toBe(0);
  });

  it('type 1 removes every non-global entry of one PCID', () => {
    const s = twoAddressSpaces();
    const pscA = s.mmu(0).psc.countValid(PCID_A);
    s.mmu(0).invpcid(INVPCID_SINGLE_CTX, PCID_B);
    expect(survivors(s)).toEqual([true, true, false, false, true]);
    expect(s.mmu(0).psc.countValid(PCID_B)).toBe(0);
    expect(s.mmu(0).psc.countValid(PCID_A)).toBe(pscA);
  });

  it('type 2 removes everything, globals included', () => {
    const s = twoAddressSpaces();
    s.mmu(0).invpcid(INVPCID_ALL_INCL_GLOBAL, 0);
    expect(survivors(s)).toEqual([false, false, false, false, false]);
    expect(s.mmu(0).tlb.countValid()).toBe(0);
    expect(s.mmu(0).psc.countValid()).toBe(0);
  });

  it('type 3 removes everything except globals', () => {
    const s = twoAddressSpaces();
    s.mmu(0).invpcid(INVPCID_ALL_NON_GLOBAL, 0);
    expect(survivors(s)).toEqual([false, false, false, false, true]);
    expect(s.mmu(0).psc.countValid()).toBe(0);
  });

  it('rejects an undefined type', () => {
    const s = twoAddressSpaces();
    expect(() => s.mmu(0).invpcid(4, 0)).toThrow(RangeError);
  });
});
