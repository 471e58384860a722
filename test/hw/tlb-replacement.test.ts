import { describe, expect, it } from 'vitest';
import { PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { mapPmd, mapPte, pgdAlloc } from '../../src/kernel/mm/pgtable.js';
import { KB4, MB2, USER_VA, testMachine } from './helpers.js';

// testMachine: 16 sets x 4 ways of 4 KiB entries, 4 sets x 2 ways of huge ones.
const SETS = 16;
const WAYS = 4;

describe('set-associative replacement', () => {
  it('a full set evicts its ways round-robin, and other sets are untouched', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    const vas = Array.from({ length: WAYS + 3 }, (_, i) => USER_VA + i * SETS * KB4); // all in set 0
    const other = USER_VA + KB4; // set 1
    for (const va of [...vas, other]) mapPte(m.env, 0, root, va, m.alloc.allocPages(0, 0, 0), PTE_RW | PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    mmu.access(other, false, true);
    for (let i = 0; i < WAYS; i++) mmu.access(vas[i]!, false, true);
    const cached = () => vas.map((va) => mmu.tlb.probe(va, 1) !== 0);
    expect(cached()).toEqual([true, true, true, true, false, false, false]);

    mmu.access(vas[4]!, false, true);
    expect(cached()).toEqual([false, true, true, true, true, false, false]);
    mmu.access(vas[5]!, false, true);
    mmu.access(vas[6]!, false, true);
    expect(cached()).toEqual([false, false, false, true, true, true, true]);
    mmu.access(vas[0]!, false, true);
    expect(cached()).toEqual([true, false, false, false, true, true, true]);
    expect(mmu.tlb.probe(other, 1)).not.toBe(0);
  });

  it('an invalid way is used before the cursor evicts a valid one', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    const vas = Array.from({ length: WAYS + 1 }, (_, i) => USER_VA + i * SETS * KB4);
    for (const va of vas) mapPte(m.env, 0, root, va, m.alloc.allocPages(0, 0, 0), PTE_RW | PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    for (let i = 0; i < WAYS; i++) mmu.access(vas[i]!, false, true);
    mmu.invlpg(vas[2]!);
    mmu.access(vas[4]!, false, true);
    expect(vas.map((va) => mmu.tlb.probe(va, 1) !== 0)).toEqual([true, true, false, true, true]);
  });

  it('huge entries replace round-robin within their own set', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    // 4 huge sets: 2 MiB pages 4 apart share a set; 2 ways.
    const vas = [0, 4, 8].map((k) => USER_VA + k * MB2);
    for (const va of vas) mapPmd(m.env, 0, root, va, m.alloc.allocPages(0, 9, 0), PTE_RW | PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);
    for (const va of vas) mmu.access(va, false, true);
    expect(vas.map((va) => mmu.tlb.probe(va, 1) !== 0)).toEqual([false, true, true]);
  });
});
