// guest_memfd's direct map (issue 8): built with 1 GiB leaves, one 4 KiB
// folio taken out splits 1G -> 2M -> 4K with a page-table page from the
// allocator per level, a kernel-range flush drops another CPU's 1 GiB TLB
// entry, the restore writes the PTE back without allocating, and the
// answers (pre-built PMD tables, the whole map at 4 KiB) keep the
// pageblock-sized unmap from allocating.
import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { GMEM_PRE_PMD } from '../../native-layout/fields.js';
import { directMapInit, physmapVa } from '../../src/kernel/asi/direct-map.js';
import { ANSWER_NONE, GmemDirectMap, gmemBootDirectMap } from '../../src/kernel/gmem/direct-map.js';
import { PteRef, lookupAddress } from '../../src/kernel/mm/pgtable.js';
import { INIT_MM } from '../../native-layout/bits.js';
import { MM_PGD, MM_STRIDE } from '../../native-layout/fields.js';
import { flushTlbKernelRange } from '../../src/kernel/tlb/flush-kernel.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { LOCK_CLASS_DIRECT_MAP, LockdepHalt, lockdepReport } from '../../src/check/lockdep.js';
import { firstViolation } from '../../src/check/oracle.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { asiMachine, resetAsiMachine } from '../asi/asi-machine.js';

afterEach(resetAsiMachine);

const GIB = 1024 * 2 ** 20;

function machine(leaves: '1g' | '2m' | '4k' = '1g') {
  const m = asiMachine(2, { memBytes: GIB, maxMms: 8 }, false);
  directMapInit(m.boot, true, leaves);
  return m;
}

function level(k: KernelCtx, pfn: number): number {
  return lookupAddress(k.env, k.mm[INIT_MM * MM_STRIDE + MM_PGD]!, physmapVa(pfn), new PteRef());
}

const count = (k: KernelCtx, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;

describe('the direct map with 1 GiB leaves', () => {
  it('starts as one 1 GiB leaf; removing a 4 KiB folio splits 1G -> 2M -> 4K, two tables from the allocator', () => {
    const { boot, cpu } = machine();
    gmemBootDirectMap(boot, '1g', 'refuse');
    const k = cpu[0]!;
    expect(level(k, 12345)).toBe(3);
    const dm = new GmemDirectMap(k);
    const tables = count(k, 'pageTablesAllocated');
    expect(dm.invalidate(12345, 1)).toBe(0);
    expect(count(k, 'directMapSplits')).toBe(2);
    expect(count(k, 'pageTablesForDirectMap')).toBe(2);
    expect(count(k, 'pageTablesAllocated') - tables).toBe(2);
    expect(dm.mapped(12345)).toBe(false);
    expect(level(k, 12344)).toBe(1);
    expect(level(k, 12345 + 512)).toBe(2);
    // Restore writes the PTE back, allocating nothing.
    dm.restore(12345, 1);
    expect(dm.mapped(12345)).toBe(true);
    expect(count(k, 'pageTablesAllocated') - tables).toBe(2);
    expect(count(k, 'directMapRestores')).toBe(1);
    expect(count(k, 'directMapRestoreWarns')).toBe(0);
  });

  it('a kernel-range flush of the folio drops another CPU\'s 1 GiB entry covering it', () => {
    const { boot, cpu } = machine();
    gmemBootDirectMap(boot, '1g', 'refuse');
    const [k0, k1] = [cpu[0]!, cpu[1]!];
    expect(k1.mmu.read(physmapVa(7))).toBeGreaterThanOrEqual(0);
    expect(k1.mmu.tlb.probePfn(physmapVa(4000), 0)).toBe(4000);
    const dm = new GmemDirectMap(k0);
    expect(dm.invalidate(4000, 1)).toBe(0);
    // Cleared but not flushed: the 1 GiB entry still translates it.
    expect(k1.mmu.tlb.probePfn(physmapVa(4000), 0)).toBe(4000);
    flushTlbKernelRange(k0, physmapVa(4000), physmapVa(4001));
    expect(k1.mmu.tlb.probePfn(physmapVa(4000), 0)).toBe(-1);
    expect(k1.mmu.read(physmapVa(4000))).toBeLessThan(0);
  });

  it('answer (ii): a pageblock unmap installs the pre-built PMD table and allocates nothing', () => {
    const { boot, cpu } = machine();
    gmemBootDirectMap(boot, '1g', 'prealloc');
    new GmemDirectMap(boot).preallocPmdTables();
    expect(boot.views.gmem[GMEM_PRE_PMD]).toBeGreaterThan(0);
    const k = cpu[0]!;
    const tables = count(k, 'pageTablesAllocated');
    const dm = new GmemDirectMap(k);
    expect(dm.invalidate(1024, 512)).toBe(0);
    expect(count(k, 'pageTablesAllocated')).toBe(tables);
    expect(count(k, 'directMapSplits')).toBe(1);
    expect(boot.views.gmem[GMEM_PRE_PMD]).toBe(0);
    expect(dm.mapped(1024)).toBe(false);
    expect(dm.mapped(1023)).toBe(true);
    dm.restore(1024, 512);
    expect(level(k, 1024)).toBe(2);
  });

  it('answer (iii): fragmenting the 1 GiB leaf costs 513 tables; afterwards nothing splits', () => {
    const { boot, cpu } = machine();
    gmemBootDirectMap(boot, '1g', '4k');
    const before = count(boot, 'pageTablesAllocated');
    new GmemDirectMap(boot).fragmentAll();
    expect(count(boot, 'pageTablesAllocated') - before).toBe(513);
    const k = cpu[1]!;
    const dm = new GmemDirectMap(k);
    expect(dm.invalidate(2048, 512)).toBe(0);
    expect(dm.invalidate(9, 1)).toBe(0);
    expect(count(k, 'directMapSplits')).toBe(0);
    expect(dm.mapped(2048 + 511)).toBe(false);
    dm.restore(2048, 512);
    expect(dm.mapped(2048 + 511)).toBe(true);
    expect(level(k, 2048)).toBe(1);
  });

  it('lockdep reports the direct-map class taken twice by one CPU (recursive-locking), before it waits on itself', () => {
    const { cpu } = machine();
    const k = cpu[0]!;
    k.smp.lockdep.acquire(k.cpu, LOCK_CLASS_DIRECT_MAP, false);
    expect(() => k.smp.lockdep.acquire(k.cpu, LOCK_CLASS_DIRECT_MAP, false)).toThrow(LockdepHalt);
    expect(firstViolation(k.views)?.kindName).toBe('recursive-locking');
    expect(lockdepReport(k.views)).toMatch(/recursive-locking: cpu 0 took direct-map again while holding direct-map/);
  });

  it('--inject recursive-split takes every answer away', () => {
    const { boot } = machine();
    gmemBootDirectMap(boot, '1g', 'refuse');
    injected[BUG['recursive-split']!] = 1;
    expect(new GmemDirectMap(boot).answer()).toBe(ANSWER_NONE);
  });
});
