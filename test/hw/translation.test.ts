import { describe, expect, it } from 'vitest';
import { PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { contentWord } from '../../src/hw/frames.js';
import { mapPmd, mapPte, mapPud, pgdAlloc } from '../../src/kernel/mm/pgtable.js';
import { GB1, KB4, KERNEL_VA, MB2, USER_VA, testMachine } from './helpers.js';

describe('translation through the 4-level tables', () => {
  it('a first access to a 4 KiB page misses and walks four levels; the second hits', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    const data = m.alloc.allocPages(0, 0, 0);
    expect(mapPte(m.env, 0, root, USER_VA, data, PTE_RW | PTE_US)).toBe(0);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);

    expect(mmu.access(USER_VA + 123, false, true)).toBe(data);
    expect(m.counter(0, 'tlbMisses')).toBe(1);
    expect(m.counter(0, 'walks')).toBe(1);
    expect(m.counter(0, 'walkLevels')).toBe(4);

    expect(mmu.access(USER_VA + 4000, false, true)).toBe(data);
    expect(m.counter(0, 'tlbHits')).toBe(1);
    expect(m.counter(0, 'walks')).toBe(1);
    expect(m.counter(0, 'accesses')).toBe(2);
  });

  it('a 2 MiB page translates every 4 KiB frame inside it from one TLB entry', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    const huge = m.alloc.allocPages(0, 9, 0);
    expect(mapPmd(m.env, 0, root, USER_VA, huge, PTE_RW | PTE_US)).toBe(0);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);

    expect(mmu.access(USER_VA, false, true)).toBe(huge);
    expect(m.counter(0, 'walkLevels')).toBe(3);
    for (const i of [1, 7, 300, 511]) expect(mmu.access(USER_VA + i * KB4 + 5, false, true)).toBe(huge + i);
    expect(m.counter(0, 'walks')).toBe(1);
    expect(mmu.access(USER_VA + MB2, false, true)).toBeLessThan(0);
  });

  it('a 1 GiB page translates with one huge entry', () => {
    const m = testMachine({ memBytes: GB1 });
    const root = pgdAlloc(m.env, 0);
    // A direct-map style mapping of all memory: frames need not be allocated.
    expect(mapPud(m.env, 0, root, KERNEL_VA, 0, PTE_RW)).toBe(0);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);

    expect(mmu.access(KERNEL_VA + 12345 * KB4, false, false)).toBe(12345);
    expect(m.counter(0, 'walkLevels')).toBe(2);
    expect(mmu.access(KERNEL_VA + 262143 * KB4, true, false)).toBe(262143);
    expect(mmu.access(KERNEL_VA + 7 * MB2, false, false)).toBe(7 * 512);
    expect(m.counter(0, 'walks')).toBe(2); // the write walked again to set D
  });

  it('read and write reach the frame contents through the translation', () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    const data = m.alloc.allocPages(0, 0, 0);
    mapPte(m.env, 0, root, USER_VA, data, PTE_RW | PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(root, 1, false);

    expect(mmu.write(USER_VA, 40000, 0xbeef, true)).toBe(data);
    expect(mmu.read(USER_VA + 8, true)).toBe(contentWord(40000, 0xbeef));
    expect(mmu.read(USER_VA + 8, true)).toBeGreaterThan(0);
  });

  it('the same va translates independently in two address spaces', () => {
    const m = testMachine();
    const a = pgdAlloc(m.env, 0);
    const b = pgdAlloc(m.env, 0);
    const fa = m.alloc.allocPages(0, 0, 0);
    const fb = m.alloc.allocPages(0, 0, 0);
    mapPte(m.env, 0, a, USER_VA, fa, PTE_US);
    mapPte(m.env, 0, b, USER_VA, fb, PTE_US);
    const mmu = m.mmu(0);
    mmu.writeCr3(a, 1, false);
    expect(mmu.access(USER_VA, false, true)).toBe(fa);
    mmu.writeCr3(b, 2, false);
    expect(mmu.access(USER_VA, false, true)).toBe(fb);
    mmu.writeCr3(a, 1, true);
    expect(mmu.access(USER_VA, false, true)).toBe(fa);
  });
});
