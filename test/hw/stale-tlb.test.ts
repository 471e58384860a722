import { describe, expect, it } from 'vitest';
import { PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { FAULT_NOT_PRESENT } from '../../src/hw/fault.js';
import { frameGen } from '../../src/hw/frames.js';
import { V_STALE_TLB, firstViolation, violationCount } from '../../src/check/oracle.js';
import { mapPte, pgdAlloc, unmapLeaf } from '../../src/kernel/mm/pgtable.js';
import { USER_VA, testMachine } from './helpers.js';

function mappedAndCached() {
  const m = testMachine();
  const root = pgdAlloc(m.env, 0);
  const data = m.alloc.allocPages(0, 0, 0);
  mapPte(m.env, 0, root, USER_VA, data, PTE_RW | PTE_US);
  const mmu = m.mmu(0);
  mmu.writeCr3(root, 1, false);
  mmu.write(USER_VA, 1, 0x5ec, true);
  return { m, root, data, mmu };
}

describe('stale TLB entries and the inline oracle', () => {
  it('after unmap the TLB keeps serving the old translation until INVLPG', () => {
    const { m, root, data, mmu } = mappedAndCached();
    expect(unmapLeaf(m.env, root, USER_VA)).toBe(data);
    expect(mmu.access(USER_VA, true, true)).toBe(data);
    expect(mmu.access(USER_VA, false, true)).toBe(data);
    expect(violationCount(m.mem.views)).toBe(0); // not freed yet: stale but harmless
    mmu.invlpg(USER_VA);
    expect(mmu.access(USER_VA, false, true)).toBe(FAULT_NOT_PRESENT);
  });

  it('an access through a stale entry to a freed frame is reported as use-after-free', () => {
    const { m, root, data, mmu } = mappedAndCached();
    mmu.setOracleContext(7, 42);
    unmapLeaf(m.env, root, USER_VA);
    const before = frameGen(m.mem.views.frame, data);
    m.alloc.freePages(0, data, 0); // the free-before-flush bug
    expect(mmu.read(USER_VA + 16, true)).toBeGreaterThanOrEqual(0); // hardware still translates
    expect(violationCount(m.mem.views)).toBe(1);
    expect(m.counter(0, 'violations')).toBe(1);
    expect(firstViolation(m.mem.views)).toEqual({
      kind: V_STALE_TLB, kindName: 'stale-tlb', cpu: 0, task: 7, va: USER_VA + 16, pfn: data,
      fillGen: before, frameGen: before + 1, op: 42, slotCpu: -1, slot: 0, swWalker: '', swLevel: 0, swFreedBy: -1,
    });
  });

  it('flushing before the free keeps the oracle silent', () => {
    const { m, root, data, mmu } = mappedAndCached();
    unmapLeaf(m.env, root, USER_VA);
    mmu.invlpg(USER_VA);
    m.alloc.freePages(0, data, 0);
    expect(mmu.access(USER_VA, false, true)).toBe(FAULT_NOT_PRESENT);
    expect(violationCount(m.mem.views)).toBe(0);
  });

  it('another CPU\'s TLB is not flushed by a local INVLPG', () => {
    const { m, root, data, mmu } = mappedAndCached();
    const other = m.mmu(1);
    other.writeCr3(root, 1, false);
    expect(other.access(USER_VA, false, true)).toBe(data);
    unmapLeaf(m.env, root, USER_VA);
    mmu.invlpg(USER_VA);
    m.alloc.freePages(0, data, 0);
    expect(other.access(USER_VA, false, true)).toBe(data);
    expect(firstViolation(m.mem.views)?.cpu).toBe(1);
  });
});
