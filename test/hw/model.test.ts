import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { violationCount } from '../../src/check/oracle.js';
import { checkPageTables } from '../../src/check/pagetable-invariants.js';
import { FAULT_NOT_PRESENT, FAULT_WRITE_PROTECT } from '../../src/hw/fault.js';
import {
  changeProtection, freePgtables, mapPte, pgdAlloc, unmapLeaf,
} from '../../src/kernel/mm/pgtable.js';
import { KB4, MB2, USER_VA, testMachine } from './helpers.js';

// 8 pages in two 2 MiB regions, all in TLB set 0 of a 4-way TLB: evictions too.
const PAGES = Array.from({ length: 8 }, (_, i) => USER_VA + (i % 2) * MB2 + Math.floor(i / 2) * 16 * KB4);

type Op =
  | { kind: 'map'; page: number; rw: boolean }
  | { kind: 'unmap'; page: number }
  | { kind: 'protect'; page: number; rw: boolean }
  | { kind: 'access'; page: number; write: boolean }
  | { kind: 'prune' };

const page = fc.integer({ min: 0, max: PAGES.length - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('map' as const), page, rw: fc.boolean() }),
  fc.record({ kind: fc.constant('unmap' as const), page }),
  fc.record({ kind: fc.constant('protect' as const), page, rw: fc.boolean() }),
  fc.record({ kind: fc.constant('access' as const), page, write: fc.boolean() }),
  fc.record({ kind: fc.constant('access' as const), page, write: fc.boolean() }),
  fc.constant({ kind: 'prune' as const }),
);

describe('translation model', () => {
  it('with an INVLPG after every change, every access translates as the page tables say', () => {
    fc.assert(fc.property(fc.array(op, { minLength: 20, maxLength: 120 }), (ops) => {
      const m = testMachine();
      const root = pgdAlloc(m.env, 0);
      const mmu = m.mmu(0);
      mmu.writeCr3(root, 1, false);
      const model = new Map<number, { pfn: number; rw: boolean }>();
      for (const o of ops) {
        if (o.kind === 'prune') {
          freePgtables(m.env, 0, root, USER_VA, USER_VA + 2 * MB2);
          mmu.invlpg(USER_VA); // also drops the PCID's PSC entries
          continue;
        }
        const va = PAGES[o.page]!;
        const prot = (rw: boolean) => PTE_US | (rw ? PTE_RW : 0);
        switch (o.kind) {
          case 'map': {
            if (model.has(va)) break;
            const pfn = m.alloc.allocPages(0, 0, 0);
            expect(mapPte(m.env, 0, root, va, pfn, prot(o.rw))).toBe(0);
            model.set(va, { pfn, rw: o.rw });
            break;
          }
          case 'unmap': {
            const e = model.get(va);
            expect(unmapLeaf(m.env, root, va)).toBe(e ? e.pfn : -2);
            mmu.invlpg(va);
            if (e) m.alloc.freePages(0, e.pfn, 0);
            model.delete(va);
            break;
          }
          case 'protect': {
            const e = model.get(va);
            if (!e) break;
            changeProtection(m.env, root, va, prot(o.rw));
            mmu.invlpg(va);
            e.rw = o.rw;
            break;
          }
          case 'access': {
            const e = model.get(va);
            const want = !e ? FAULT_NOT_PRESENT : o.write && !e.rw ? FAULT_WRITE_PROTECT : e.pfn;
            expect(mmu.access(va + 8, o.write, true)).toBe(want);
            break;
          }
        }
      }
      expect(violationCount(m.mem.views)).toBe(0);
      expect(checkPageTables(m.mem, [root])).toEqual([]);
    }), { numRuns: 300 });
  });
});
