// mremap moving a whole PTE table (move-ptes.ts moveNormalPmd): when the old
// and new ranges both cover a 2 MiB-aligned table, the PMD entry moves
// instead of 512 PTEs, always under i_mmap for write in a file area
// (97113eb39fa7), and an rmap walker that held the table across a move
// without that lock is reported (sw-walk-moved-table).
import { afterEach, describe, expect, it } from 'vitest';
import { VM_READ, VM_SHARED, VM_WRITE } from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import { FILE_I_MMAP, FILE_STRIDE } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { VIOLATION_NAMES, violationCount, violationRecords } from '../../src/check/oracle.js';
import { ipiPending } from '../../src/hw/apic.js';
import { FAULT_SIGSEGV } from '../../src/kernel/mm/fault.js';
import { mmAlloc, mmPgd } from '../../src/kernel/mm/mm.js';
import { sysMmap } from '../../src/kernel/mm/mmap.js';
import { sysMremap } from '../../src/kernel/mm/mremap.js';
import { lockPteOf, unlockPteOf } from '../../src/kernel/mm/rmap.js';
import { pteTablePfn } from '../../src/kernel/mm/zap.js';
import { pudEntry } from '../../src/kernel/mm/pgtable.js';
import { readHi, readLo } from '../../src/hw/ptstore.js';
import { ptePfn } from '../../src/hw/pte.js';
import { pollIpis } from '../../src/kernel/smp.js';
import { setSpinHook } from '../../src/sync/hook.js';
import { rwsemIsLocked } from '../../src/sync/rwsem.js';
import { BASE, PAGE, cached, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const clean = { violations: [], framesLost: 0 };
const TABLE = 512;
const FILE = 2;
/** 2 MiB-aligned, four tables on (BASE is aligned). */
const ALIGNED = BASE + 4 * TABLE;

const allocated = (k: ReturnType<typeof kernelMachine>['cpu'][number]): number => k.counters[k.countersAt + C.pageTablesAllocated]!;
const freed = (k: ReturnType<typeof kernelMachine>['cpu'][number]): number => k.counters[k.countersAt + C.pageTablesFreed]!;

/** The PMD table mm's PUD entry for vpn links, -1 none. */
function pmdTableOf(k: ReturnType<typeof kernelMachine>['cpu'][number], mm: number, vpn: number): number {
  const w = pudEntry(k.env, k.cpu, mmPgd(k, mm), vpn * PAGE, false);
  if (w < 0 || (readLo(k.env.pt, w) & 1) === 0) return -1;
  return ptePfn(readLo(k.env.pt, w), readHi(k.env.pt, w));
}

describe('mremap moves a whole aligned PMD table (move_normal_pud)', () => {
  it('1 GiB aligned at both ends: the PUD entry moves, every PTE table with it; data read back at the new address', () => {
    const PUD = TABLE * TABLE;
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    const a = processWith(k0, PUD);
    switchTo(k0, a);
    switchTo(k1, a);
    const spots = [0, 5, 100 * TABLE + 7, 511 * TABLE + 511];
    spots.forEach((o, i) => write(k0, a, BASE + o, i + 1));
    for (const o of spots) read(k1, a, BASE + o);
    const pmd = pmdTableOf(k0, a, BASE);
    expect(pmd).toBeGreaterThanOrEqual(0);
    const [alloc0, freed0] = [allocated(k0), freed(k0)];
    const to = BASE + 2 * PUD;
    expect(sysMremap(k0, a, BASE, PUD, PUD, to)).toBe(0);
    expect(pmdTableOf(k0, a, to)).toBe(pmd);
    expect(pmdTableOf(k0, a, BASE)).toBe(-1);
    // One PUD table for the new address, nothing else allocated or freed.
    expect(allocated(k0) - alloc0).toBeLessThanOrEqual(1);
    expect(freed(k0) - freed0).toBe(0);
    for (const o of spots) expect(cached(k1, BASE + o)).toBe(-1);
    spots.forEach((o, i) => expect(read(k1, a, to + o) & 0xffff).toBe(i + 1));
    expect(read(k1, a, BASE + 5)).toBe(FAULT_SIGSEGV);
    expect(violationCount(m.mem.views)).toBe(0);
    expect(checkMachineAtEnd(m.mem)).toEqual(clean);
  });
});

describe('mremap moves a whole aligned PTE table (move_normal_pmd)', () => {
  it('the table frame itself moves: no PTE table allocated or freed, data read back at the new address, old one faults', () => {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    const a = processWith(k0, TABLE);
    switchTo(k0, a);
    switchTo(k1, a);
    for (let i = 0; i < TABLE; i++) write(k0, a, BASE + i, i + 1);
    for (let i = 0; i < TABLE; i += 64) read(k1, a, BASE + i);
    const root = mmPgd(k0, a);
    const table = pteTablePfn(k0, root, BASE * PAGE);
    const [alloc0, freed0] = [allocated(k0), freed(k0)];
    expect(sysMremap(k0, a, BASE, TABLE, TABLE, ALIGNED)).toBe(0);
    expect(pteTablePfn(k0, root, ALIGNED * PAGE)).toBe(table);
    expect(pteTablePfn(k0, root, BASE * PAGE)).toBe(-1);
    expect(allocated(k0) - alloc0).toBe(0);
    expect(freed(k0) - freed0).toBe(0);
    // The flush of the old range reached CPU 1.
    for (let i = 0; i < TABLE; i += 64) expect(cached(k1, BASE + i)).toBe(-1);
    for (let i = 0; i < TABLE; i += 37) expect(read(k1, a, ALIGNED + i) & 0xffff).toBe(i + 1);
    expect(read(k1, a, BASE)).toBe(FAULT_SIGSEGV);
    expect(violationCount(m.mem.views)).toBe(0);
    expect(checkMachineAtEnd(m.mem)).toEqual(clean);
  });

  it('an unaligned destination moves PTE by PTE into new tables', () => {
    const m = kernelMachine(1);
    const k0 = m.cpu[0]!;
    const a = processWith(k0, TABLE);
    switchTo(k0, a);
    for (let i = 0; i < TABLE; i++) write(k0, a, BASE + i, i + 1);
    const root = mmPgd(k0, a);
    const table = pteTablePfn(k0, root, BASE * PAGE);
    expect(sysMremap(k0, a, BASE, TABLE, TABLE, ALIGNED + 100)).toBe(0);
    expect(pteTablePfn(k0, root, ALIGNED * PAGE)).not.toBe(table);
    expect(read(k0, a, ALIGNED + 100 + 500) & 0xffff).toBe(501);
    expect(checkMachineAtEnd(m.mem)).toEqual(clean);
  });

  /** A shared file area of one table at BASE, moved to ALIGNED; whether i_mmap was held for write at the old range's flush. */
  function fileMove(bug: boolean): boolean[] {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    const a = mmAlloc(k0);
    expect(sysMmap(k0, a, BASE, TABLE, VM_READ | VM_WRITE | VM_SHARED, FILE, 0)).toBe(0);
    switchTo(k0, a);
    switchTo(k1, a);
    for (let i = 0; i < TABLE; i += 8) write(k0, a, BASE + i, i + 1);
    read(k1, a, BASE);
    const held: boolean[] = [];
    let armed = true;
    setSpinHook(() => {
      if (armed && ipiPending(m.mem.views.ipi, 1)) {
        armed = false;
        held.push(rwsemIsLocked(k0.views.file, FILE * FILE_STRIDE + FILE_I_MMAP));
      }
      pollIpis(k0.smp);
      pollIpis(k1.smp);
    });
    if (bug) injected[BUG['mremap-pmd-no-rmap-lock']!] = 1;
    // The new VMA takes slot 1, after the area's: need_rmap_locks is false.
    expect(sysMremap(k0, a, BASE, TABLE, TABLE, ALIGNED)).toBe(0);
    expect(read(k1, a, ALIGNED + 8) & 0xffff).toBe(9);
    expect(checkMachineAtEnd(m.mem)).toEqual(clean);
    return held;
  }

  it('a file area\'s table moves under i_mmap held for write even when need_rmap_locks is false (97113eb39fa7)', () => {
    expect(fileMove(false)).toEqual([true]);
  });

  it('with mremap-pmd-no-rmap-lock it moves without i_mmap, as before the fix', () => {
    expect(fileMove(true)).toEqual([false]);
  });

  it('an rmap walker holding the table across such a move reports sw-walk-moved-table naming the walker and the table', () => {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    const a = mmAlloc(k0);
    expect(sysMmap(k0, a, BASE, TABLE, VM_READ | VM_WRITE | VM_SHARED, FILE, 0)).toBe(0);
    switchTo(k0, a);
    for (let i = 0; i < TABLE; i += 8) write(k0, a, BASE + i, i + 1);
    const table = pteTablePfn(k0, mmPgd(k0, a), BASE * PAGE);
    // CPU 1 is truncation's page_vma_mapped_walk: it found the table at BASE + 3 and holds its lock.
    const slot = lockPteOf(k1, a, BASE + 3);
    expect(slot).toBeGreaterThanOrEqual(0);
    setSpinHook(() => {
      pollIpis(k0.smp);
      pollIpis(k1.smp);
    });
    injected[BUG['mremap-pmd-no-rmap-lock']!] = 1;
    expect(sysMremap(k0, a, BASE, TABLE, TABLE, ALIGNED)).toBe(0);
    unlockPteOf(k1, a, BASE + 3, slot);
    const recs = violationRecords(m.mem.views);
    expect(recs).toHaveLength(1);
    const r = recs[0]!;
    expect([VIOLATION_NAMES[r.kind], r.cpu, r.va, r.pfn, r.frameGen, r.swWalker])
      .toEqual(['sw-walk-moved-table', 1, (BASE + 3) * PAGE, table, -1, 'page_vma_mapped_walk']);
  });

  it('without a move in between the same walker lets go silently', () => {
    const m = kernelMachine(2);
    const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
    const a = mmAlloc(k0);
    expect(sysMmap(k0, a, BASE, TABLE, VM_READ | VM_WRITE | VM_SHARED, FILE, 0)).toBe(0);
    switchTo(k0, a);
    write(k0, a, BASE + 3, 1);
    const slot = lockPteOf(k1, a, BASE + 3);
    unlockPteOf(k1, a, BASE + 3, slot);
    expect(violationCount(m.mem.views)).toBe(0);
  });
});
