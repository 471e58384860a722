import { describe, expect, it } from 'vitest';
import { PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { mapPte, pgdAlloc } from '../../src/kernel/mm/pgtable.js';
import { INVLPGB_ALL } from '../../src/hw/invlpgb.js';
import { KB4, PCID_A, PCID_B, USER_VA, testMachine } from './helpers.js';

const VPN = USER_VA / KB4;

/** CPUs 1..3 each cache va1 and va2 of one address space under PCID_A, and va1 under PCID_B. */
function fourCpus() {
  const m = testMachine({ cpus: 4 });
  const root = pgdAlloc(m.env, 0);
  const f1 = m.alloc.allocPages(0, 0, 0);
  const f2 = m.alloc.allocPages(0, 0, 0);
  mapPte(m.env, 0, root, USER_VA, f1, PTE_RW | PTE_US);
  mapPte(m.env, 0, root, USER_VA + KB4, f2, PTE_RW | PTE_US);
  for (let c = 0; c < 4; c++) {
    const mmu = m.mmu(c);
    mmu.writeCr3(root, PCID_B, false);
    mmu.access(USER_VA, false, true);
    mmu.writeCr3(root, PCID_A, false);
    expect(mmu.access(USER_VA, false, true)).toBe(f1);
    expect(mmu.access(USER_VA + KB4, false, true)).toBe(f2);
  }
  return { ...m, f1, f2 };
}

describe('INVLPGB', () => {
  it('is applied by the target before its next access, not before', () => {
    const m = fourCpus();
    const issuer = m.mmu(0).invlpgbPort;
    issuer.post(1, PCID_A, VPN, 1, 0);
    const t = m.mmu(1);
    // Posted, not applied: only the owner drops its entries.
    expect(t.tlb.probe(USER_VA, PCID_A)).not.toBe(0);
    expect(t.invlpgbPort.pending()).toBe(true);
    expect(issuer.synced()).toBe(false);
    // The next access takes the request first, so it misses and walks.
    const misses = m.counter(1, 'tlbMisses');
    expect(t.access(USER_VA, false, true)).toBe(m.f1);
    expect(m.counter(1, 'tlbMisses')).toBe(misses + 1);
    expect(t.invlpgbPort.pending()).toBe(false);
    expect(issuer.synced()).toBe(true);
    // Only va1 of PCID_A went: va2 and PCID_B's va1 stay.
    expect(t.tlb.probe(USER_VA + KB4, PCID_A)).not.toBe(0);
    expect(t.tlb.probe(USER_VA, PCID_B)).not.toBe(0);
    // Other CPUs were not targets.
    expect(m.mmu(2).tlb.probe(USER_VA, PCID_A)).not.toBe(0);
  });

  it('drops every non-global entry of the PCID with INVLPGB_ALL', () => {
    const m = fourCpus();
    m.mmu(0).invlpgbPort.post(2, PCID_A, 0, 0, INVLPGB_ALL);
    expect(m.mmu(2).applyInvlpgb()).toBe(1);
    expect(m.mmu(2).tlb.probe(USER_VA, PCID_A)).toBe(0);
    expect(m.mmu(2).tlb.probe(USER_VA + KB4, PCID_A)).toBe(0);
    expect(m.mmu(2).tlb.probe(USER_VA, PCID_B)).not.toBe(0);
    expect(m.mmu(2).applyInvlpgb()).toBe(0);
  });

  it('TLBSYNC waits only for the requests of the CPU that issued them', () => {
    const m = fourCpus();
    const p0 = m.mmu(0).invlpgbPort;
    const p2 = m.mmu(2).invlpgbPort;
    p0.post(1, PCID_A, VPN, 2, 0);
    p2.post(3, PCID_A, VPN, 2, 0);
    p2.post(1, PCID_A, VPN, 2, 0);
    expect(p0.synced()).toBe(false);
    expect(p2.synced()).toBe(false);
    // CPU 1 applies both requests it got; CPU 3 has not applied CPU 2's.
    expect(m.mmu(1).applyInvlpgb()).toBe(2);
    expect(p0.synced()).toBe(true);
    expect(p2.synced()).toBe(false);
    expect(p0.inFlightFrom(2)).toBe(1);
    expect(m.mmu(3).applyInvlpgb()).toBe(1);
    expect(p2.synced()).toBe(true);
    // One request per pair in flight: the slot is free again once applied.
    expect(p0.slotFree(1)).toBe(true);
    p0.post(1, PCID_A, VPN, 1, 0);
    expect(p0.slotFree(1)).toBe(false);
  });
});
