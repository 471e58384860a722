import { afterEach, describe, expect, it } from 'vitest';
import { VM_READ, VM_SHARED, VM_WRITE } from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import { FILE_I_MMAP, FILE_STRIDE, MM_ANON_PAGES, MM_STRIDE, PT_LOCK_STRIDE, VMA_PGOFF } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { violationCount } from '../../src/check/oracle.js';
import { ipiPending } from '../../src/hw/apic.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { FAULT_SIGSEGV } from '../../src/kernel/mm/fault.js';
import { findFilePage } from '../../src/kernel/mm/filemap.js';
import { mmAlloc, mmPgd } from '../../src/kernel/mm/mm.js';
import { sysMmap } from '../../src/kernel/mm/mmap.js';
import { EFAULT, sysMremap } from '../../src/kernel/mm/mremap.js';
import { pageRefcount } from '../../src/kernel/mm/page-ref.js';
import { EINVAL } from '../../src/kernel/mm/pgtable.js';
import { findVma } from '../../src/kernel/mm/vma.js';
import { pteTableSlot } from '../../src/kernel/mm/zap.js';
import { pollIpis } from '../../src/kernel/smp.js';
import { setSpinHook } from '../../src/sync/hook.js';
import { rwsemIsLocked } from '../../src/sync/rwsem.js';
import { spinIsLocked } from '../../src/sync/spinlock.js';
import { BASE, PAGE, cached, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const clean = { violations: [], framesLost: 0 };
const FILE = 2;
/** A destination in another PTE table, and not 2 MiB-aligned: the move spans three tables. */
const DEST = BASE + 3 * 512 + 200;

const anonPages = (k: KernelCtx, mm: number): number => k.mm[mm * MM_STRIDE + MM_ANON_PAGES]!;
const tablesFreed = (k: KernelCtx): number => k.counters[k.countersAt + C.pageTablesFreed]!;
const ptlHeld = (k: KernelCtx, slot: number): boolean => spinIsLocked(k.views.ptLock, slot * PT_LOCK_STRIDE);

/** Two CPUs running one process with `pages` anonymous pages at `start`, written by CPU 0 and read by CPU 1. */
function populated(pages: number, start = BASE) {
  const m = kernelMachine(2);
  const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
  const a = processWith(k0, pages, start);
  switchTo(k0, a);
  switchTo(k1, a);
  const pfns: number[] = [];
  for (let i = 0; i < pages; i++) pfns.push(write(k0, a, start + i, i + 1));
  for (let i = 0; i < pages; i++) read(k1, a, start + i);
  return { ...m, k0, k1, a, pfns };
}

describe('mremap(MREMAP_MAYMOVE | MREMAP_FIXED)', () => {
  it('anonymous pages move with their data: the new range reads back, the old one faults, counters stay', () => {
    const n = 40;
    const { k0, k1, a, pfns, mem } = populated(n);
    const anon = anonPages(k0, a);
    const freed = tablesFreed(k0);
    expect(sysMremap(k0, a, BASE, n, n, DEST)).toBe(0);
    for (let i = 0; i < n; i++) {
      expect(cached(k1, BASE + i)).toBe(-1);
      expect(read(k1, a, DEST + i) & 0xffff).toBe(i + 1);
      expect(k1.mmu.tlb.probePfn((DEST + i) * PAGE, k1.mmu.cr3Pcid)).toBe(pfns[i]);
      expect(pageRefcount(k0, pfns[i]!)).toBe(1);
    }
    expect(read(k1, a, BASE)).toBe(FAULT_SIGSEGV);
    expect(read(k0, a, BASE + n - 1)).toBe(FAULT_SIGSEGV);
    expect(anonPages(k0, a)).toBe(anon);
    // The old table mapped nothing else: unlinked and freed after the flush.
    expect(tablesFreed(k0) - freed).toBe(1);
    expect(pteTableSlot(k0, mmPgd(k0, a), BASE * PAGE)).toBe(-1);
    expect(violationCount(mem.views)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('moving back and forth keeps every page and frees no frame', () => {
    const n = 16;
    const { k0, k1, a, pfns, mem } = populated(n);
    for (let round = 0; round < 6; round++) {
      const [from, to] = round % 2 === 0 ? [BASE, DEST] : [DEST, BASE];
      expect(sysMremap(k0, a, from, n, n, to)).toBe(0);
      for (let i = 0; i < n; i++) expect(read(k1, a, to + i) & 0xffff).toBe(i + 1);
      expect(read(k1, a, from)).toBe(FAULT_SIGSEGV);
    }
    for (let i = 0; i < n; i++) expect(pageRefcount(k0, pfns[i]!)).toBe(1);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('a shared file range moves with its pgoff: the middle of an area splits off and reads the same file pages', () => {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    const a = mmAlloc(k0);
    expect(sysMmap(k0, a, BASE, 8, VM_READ | VM_WRITE | VM_SHARED, FILE, 4)).toBe(0);
    switchTo(k0, a);
    switchTo(k1, a);
    for (let i = 0; i < 8; i++) write(k0, a, BASE + i, 100 + i);
    const page6 = findFilePage(k0.views.file, FILE, 6);
    expect(pageRefcount(k0, page6)).toBe(2);
    expect(sysMremap(k0, a, BASE + 2, 3, 3, DEST)).toBe(0);
    expect(k0.vma[findVma(k0, a, DEST) + VMA_PGOFF]).toBe(6);
    expect(read(k1, a, DEST) & 0xffff).toBe(102);
    expect(k1.mmu.tlb.probePfn(DEST * PAGE, k1.mmu.cr3Pcid)).toBe(page6);
    expect(pageRefcount(k0, page6)).toBe(2);
    expect(read(k1, a, BASE + 1) & 0xffff).toBe(101);
    expect(read(k1, a, BASE + 3)).toBe(FAULT_SIGSEGV);
    expect(read(k1, a, BASE + 5) & 0xffff).toBe(105);
    expect(anonPages(k0, a)).toBe(0);
    expect(checkMachineAtEnd(m.mem)).toEqual(clean);
  });

  it('shrinking unmaps the tail first; growing maps fresh pages past the old length', () => {
    const { k0, k1, a, pfns, mem } = populated(8);
    expect(sysMremap(k0, a, BASE, 8, 5, DEST)).toBe(0);
    expect(anonPages(k0, a)).toBe(5);
    expect(read(k1, a, DEST + 4) & 0xffff).toBe(5);
    expect(read(k1, a, DEST + 5)).toBe(FAULT_SIGSEGV);
    expect(pageRefcount(k0, pfns[6]!)).toBe(0);
    expect(sysMremap(k0, a, DEST, 5, 12, BASE)).toBe(0);
    expect(read(k1, a, BASE + 4) & 0xffff).toBe(5);
    expect(read(k1, a, BASE + 11)).toBe(0);
    expect(anonPages(k0, a)).toBe(6);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('a mapping at the destination is replaced (MREMAP_FIXED unmaps it first)', () => {
    const { k0, k1, a, mem } = populated(4);
    expect(sysMmap(k0, a, DEST, 4, VM_READ | VM_WRITE)).toBe(0);
    const victim = write(k1, a, DEST + 1, 77);
    expect(sysMremap(k0, a, BASE, 4, 4, DEST)).toBe(0);
    expect(pageRefcount(k0, victim)).toBe(0);
    expect(read(k1, a, DEST + 1) & 0xffff).toBe(2);
    expect(anonPages(k0, a)).toBe(4);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('overlapping ranges are EINVAL, an old range outside one area EFAULT; nothing changes', () => {
    const { k0, k1, a, mem } = populated(4);
    expect(sysMremap(k0, a, BASE, 4, 4, BASE + 2)).toBe(EINVAL);
    expect(sysMremap(k0, a, BASE, 4, 4, BASE)).toBe(EINVAL);
    expect(sysMremap(k0, a, BASE + 2, 4, 4, DEST)).toBe(EFAULT);
    expect(sysMremap(k0, a, BASE, 0, 4, DEST)).toBe(EINVAL);
    expect(read(k1, a, BASE + 3) & 0xffff).toBe(4);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });
});

describe('mremap flushes the old range before dropping the PTE locks (CVE-2018-18281)', () => {
  /**
   * CPU 0 moves 8 pages while CPU 1 caches them. At the first flush IPI
   * CPU 1 receives, records whether the old and new PTE tables are still
   * locked, and uses its stale entry: the page must still be allocated.
   */
  function moveAndWatch(bug: boolean) {
    const { k0, k1, a, pfns, mem } = populated(8);
    const root = mmPgd(k0, a);
    const oldSlot = pteTableSlot(k0, root, BASE * PAGE);
    let seen: { oldHeld: boolean; newHeld: boolean; stale: number } | null = null;
    setSpinHook(() => {
      if (seen === null && ipiPending(mem.views.ipi, 1)) {
        const newSlot = pteTableSlot(k0, root, DEST * PAGE);
        seen = { oldHeld: ptlHeld(k0, oldSlot), newHeld: newSlot >= 0 && ptlHeld(k0, newSlot), stale: cached(k1, BASE + 3) };
        k1.mmu.access((BASE + 3) * PAGE, false, true);
      }
      pollIpis(k0.smp);
      pollIpis(k1.smp);
    });
    if (bug) injected[BUG['mremap-flush-after-unlock']!] = 1;
    expect(sysMremap(k0, a, BASE, 8, 8, DEST)).toBe(0);
    expect(seen).not.toBeNull();
    expect(cached(k1, BASE + 3)).toBe(-1);
    return { seen: seen!, pfns, mem };
  }

  it('the first flush CPU 1 receives comes while both PTE locks are held', () => {
    const { seen, pfns, mem } = moveAndWatch(false);
    expect(seen).toEqual({ oldHeld: true, newHeld: true, stale: pfns[3] });
    expect(violationCount(mem.views)).toBe(0);
  });

  it('with mremap-flush-after-unlock the locks are already gone when the flush comes', () => {
    const { seen, pfns } = moveAndWatch(true);
    expect(seen).toEqual({ oldHeld: false, newHeld: false, stale: pfns[3] });
  });

  it('a file area whose new VMA an rmap walk would visit first moves under i_mmap held for write (need_rmap_locks)', () => {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    const a = mmAlloc(k0);
    expect(sysMmap(k0, a, BASE, 4, VM_READ | VM_WRITE | VM_SHARED, FILE, 0)).toBe(0);
    switchTo(k0, a);
    switchTo(k1, a);
    const iMmapHeldAtFlush: boolean[] = [];
    let armed = true;
    setSpinHook(() => {
      if (armed && ipiPending(m.mem.views.ipi, 1)) {
        armed = false;
        iMmapHeldAtFlush.push(rwsemIsLocked(k0.views.file, FILE * FILE_STRIDE + FILE_I_MMAP));
      }
      pollIpis(k0.smp);
      pollIpis(k1.smp);
    });
    // The area sits in slot 0: the new VMA goes to slot 1, after it.
    for (let i = 0; i < 4; i++) write(k0, a, BASE + i, i + 1);
    read(k1, a, BASE);
    expect(sysMremap(k0, a, BASE, 4, 4, DEST)).toBe(0);
    // Back again: slot 0 is free, before the area's slot 1.
    read(k1, a, DEST);
    armed = true;
    expect(sysMremap(k0, a, DEST, 4, 4, BASE)).toBe(0);
    expect(iMmapHeldAtFlush).toEqual([false, true]);
    expect(read(k1, a, BASE + 3) & 0xffff).toBe(4);
    expect(checkMachineAtEnd(m.mem)).toEqual(clean);
  });
});
