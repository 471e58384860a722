import { describe, expect, it } from 'vitest';
import { PTE_RW, PTE_US } from '../../native-layout/bits.js';
import {
  FAULT_NOT_PRESENT, FAULT_USER_SUPERVISOR, FAULT_WRITE_PROTECT,
} from '../../src/hw/fault.js';
import { entryWord, modifyEntry, ptSlotOf } from '../../src/hw/ptstore.js';
import { ptIndex } from '../../src/hw/pte.js';
import { changeProtection, mapPte, pgdAlloc } from '../../src/kernel/mm/pgtable.js';
import { KERNEL_VA, USER_VA, testMachine } from './helpers.js';

function setup(prot: number, va = USER_VA) {
  const m = testMachine();
  const root = pgdAlloc(m.env, 0);
  const data = m.alloc.allocPages(0, 0, 0);
  mapPte(m.env, 0, root, va, data, prot);
  const mmu = m.mmu(0);
  mmu.writeCr3(root, 1, false);
  return { m, root, data, mmu };
}

describe('permission and presence faults', () => {
  it('an unmapped address faults not-present and nothing is cached', () => {
    const { m, mmu } = setup(PTE_RW | PTE_US);
    expect(mmu.access(USER_VA + 0x200000, false, true)).toBe(FAULT_NOT_PRESENT);
    expect(mmu.access(USER_VA + 0x1000, false, true)).toBe(FAULT_NOT_PRESENT);
    expect(mmu.tlb.countValid()).toBe(0);
    expect(m.counter(0, 'pageFaults')).toBe(2);
  });

  it('a write to a read-only page faults, from user and from the kernel (CR0.WP)', () => {
    const { data, mmu } = setup(PTE_US);
    expect(mmu.access(USER_VA, false, true)).toBe(data);
    expect(mmu.access(USER_VA, true, true)).toBe(FAULT_WRITE_PROTECT);
    expect(mmu.access(USER_VA, true, false)).toBe(FAULT_WRITE_PROTECT);
  });

  it('a user access to a supervisor page faults; the kernel reads and writes it', () => {
    const { data, mmu } = setup(PTE_RW, KERNEL_VA);
    expect(mmu.access(KERNEL_VA, false, true)).toBe(FAULT_USER_SUPERVISOR);
    expect(mmu.access(KERNEL_VA, false, false)).toBe(data);
    expect(mmu.access(KERNEL_VA, true, true)).toBe(FAULT_USER_SUPERVISOR);
    expect(mmu.access(KERNEL_VA, true, false)).toBe(data);
  });

  it('rights are combined over the levels: a read-only PGD entry makes the page read-only', () => {
    const { m, root, data, mmu } = setup(PTE_RW | PTE_US);
    const w = entryWord(ptSlotOf(m.mem.views.frame, root), ptIndex(USER_VA, 4));
    modifyEntry(m.mem.views.ptStore, m.mem.views.ptSeq, w, ~PTE_RW, 0, m.mem.views.ptStore[w + 1]);
    expect(mmu.access(USER_VA, true, true)).toBe(FAULT_WRITE_PROTECT);
    expect(mmu.access(USER_VA, false, true)).toBe(data);
    // A walk that starts from the cached PDE pointer applies the upper levels' rights too.
    mapPte(m.env, 0, root, USER_VA + 0x1000, data, PTE_RW | PTE_US);
    const pscHits = m.counter(0, 'pscHits');
    expect(mmu.access(USER_VA + 0x1000, true, true)).toBe(FAULT_WRITE_PROTECT);
    expect(m.counter(0, 'pscHits')).toBe(pscHits + 1);
  });

  it('a fault drops the stale entry, so an upgraded PTE needs no flush', () => {
    const { m, root, data, mmu } = setup(PTE_US);
    expect(mmu.access(USER_VA, false, true)).toBe(data);
    expect(changeProtection(m.env, root, USER_VA, PTE_RW | PTE_US)).toBe(0);
    // The TLB still says read-only: the write faults (a spurious fault the
    // kernel just returns from), and the fault removed the entry.
    expect(mmu.access(USER_VA, true, true)).toBe(FAULT_WRITE_PROTECT);
    expect(mmu.tlb.probe(USER_VA, 1)).toBe(0);
    expect(mmu.access(USER_VA, true, true)).toBe(data);
  });
});
