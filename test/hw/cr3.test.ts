import { describe, expect, it } from 'vitest';
import { PCID_A, PCID_B, twoAddressSpaces } from './helpers.js';

describe('CR3 writes with PCIDs', () => {
  it('without NOFLUSH, the new PCID\'s non-global entries and PSC entries are dropped', () => {
    const s = twoAddressSpaces();
    const mmu = s.mmu(0);
    mmu.writeCr3(s.b, PCID_B, false);
    expect(mmu.tlb.probe(s.va1, PCID_B)).toBe(0);
    expect(mmu.tlb.probe(s.va2, PCID_B)).toBe(0);
    expect(mmu.psc.countValid(PCID_B)).toBe(0);
    // other PCIDs untouched, globals survive
    expect(mmu.tlb.probe(s.va1, PCID_A)).not.toBe(0);
    expect(mmu.tlb.probe(s.va2, PCID_A)).not.toBe(0);
    expect(mmu.psc.countValid(PCID_A)).toBeGreaterThan(0);
    expect(mmu.tlb.probe(s.vaG, PCID_B)).not.toBe(0);
  });

  it('with NOFLUSH, the new PCID\'s entries are kept and serve hits', () => {
    const s = twoAddressSpaces();
    const mmu = s.mmu(0);
    mmu.writeCr3(s.b, PCID_B, true);
    const walks = s.counter(0, 'walks');
    expect(mmu.access(s.va1, false, true)).toBe(s.frames.b[0]);
    expect(mmu.access(s.va2, false, true)).toBe(s.frames.b[1]);
    expect(mmu.access(s.vaG, false, false)).toBe(s.frames.g);
    expect(s.counter(0, 'walks')).toBe(walks);
    expect(s.counter(0, 'cr3NoflushWrites')).toBe(1);
  });

  it('a PCID-tagged entry survives a switch away and back with NOFLUSH', () => {
    const s = twoAddressSpaces();
    const mmu = s.mmu(0);
    mmu.writeCr3(s.b, PCID_B, false); // away: B is flushed, A is not touched
    mmu.access(s.va1, false, true);
    mmu.writeCr3(s.a, PCID_A, true); // back
    const hits = s.counter(0, 'tlbHits');
    const walks = s.counter(0, 'walks');
    expect(mmu.access(s.va1, false, true)).toBe(s.frames.a[0]);
    expect(s.counter(0, 'tlbHits')).toBe(hits + 1);
    expect(s.counter(0, 'walks')).toBe(walks);
  });

  it('records CR3 and PCID in the CPU region and counts the writes', () => {
    const s = twoAddressSpaces();
    expect(s.mmu(0).cr3Root).toBe(s.a);
    expect(s.mmu(0).cr3Pcid).toBe(PCID_A);
    expect(s.counter(0, 'cr3Writes')).toBe(2);
    expect(() => s.mmu(0).writeCr3(s.a, 4096, false)).toThrow(RangeError);
  });
});
