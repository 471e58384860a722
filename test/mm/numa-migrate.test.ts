// NUMA hinting and page migration (src/kernel/mm/numa.ts, migrate.ts,
// pte-states.ts), one thread driving several CPUs of one kernel: a scan
// makes PTEs PROT_NONE and flushes at the end; the hinting fault restores
// them or migrates the page through a migration entry; migration flushes a
// PROT_NONE entry while the scan's flush is pending (20841405940e), and
// without that (numa-protnone-not-accessible) a CPU's stale writable entry
// writes the old, freed page. Zap, fork and the end-of-run check count the
// two entry kinds as mappings.
import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_STATE_MASK, FS_ALLOCATED } from '../../native-layout/bits.js';
import { FRAME_STRIDE, FR_FLAGS } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { VIOLATION_NAMES, violationCount, violationRecords } from '../../src/check/oracle.js';
import { entryWord, ptSlotOf, readHi, readLo, setEntry } from '../../src/hw/ptstore.js';
import { readFrame } from '../../src/hw/frames.js';
import { ptePfn } from '../../src/hw/pte.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { dupMm } from '../../src/kernel/mm/fork.js';
import { sysMadviseDontneed } from '../../src/kernel/mm/madvise.js';
import { mmPgd } from '../../src/kernel/mm/mm.js';
import { sysMprotect } from '../../src/kernel/mm/mprotect.js';
import { sysMunmap } from '../../src/kernel/mm/munmap.js';
import { changeProtNuma, numaTally, resetNumaTally, setNumaMigratePercent } from '../../src/kernel/mm/numa.js';
import { pageRefcount } from '../../src/kernel/mm/page-ref.js';
import { migrationFromEntry, pteIsMigration, pteIsProtNone } from '../../src/kernel/mm/pte-states.js';
import { pteTablePfn } from '../../src/kernel/mm/zap.js';
import { SITE_MIGRATE_COPY, SITE_NUMA_SCAN } from '../../src/kernel/points.js';
import { setKernelPointHook } from '../../src/sync/hook.js';
import { PTE_P, PTE_RW, VM_READ } from '../../native-layout/bits.js';
import { BASE, PAGE, cached, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(() => {
  setKernelPointHook(null);
  setNumaMigratePercent(0);
  resetMachineState();
});

/** The raw PTE (lo, hi) of vpn in mm. */
function pte(k: KernelCtx, mm: number, vpn: number): { lo: number; hi: number; pfn: number } {
  const table = pteTablePfn(k, mmPgd(k, mm), vpn * PAGE);
  const w = entryWord(ptSlotOf(k.frame, table), vpn & 511);
  const lo = readLo(k.env.pt, w);
  const hi = readHi(k.env.pt, w);
  return { lo, hi, pfn: ptePfn(lo, hi) };
}

const allocated = (k: KernelCtx, pfn: number): boolean =>
  (k.frame[pfn * FRAME_STRIDE + FR_FLAGS]! & FRAME_STATE_MASK) === FS_ALLOCATED;

/** 3 CPUs on one mm with `pages` written pages at BASE (secret i + 1); every CPU caches page 0. */
function shared(pages: number) {
  const m = kernelMachine(3);
  const [k0, k1, k2] = m.cpu as [KernelCtx, KernelCtx, KernelCtx];
  const a = processWith(k0, pages);
  for (const k of m.cpu) switchTo(k, a);
  const pfns: number[] = [];
  for (let i = 0; i < pages; i++) pfns.push(write(k0, a, BASE + i, i + 1));
  resetNumaTally();
  return { ...m, k0, k1, k2, a, pfns };
}

describe('NUMA hinting faults', () => {
  it('change_prot_numa makes the present PTEs PROT_NONE and flushes; the fault puts them back unmoved', () => {
    const { mem, k0, k1, a, pfns } = shared(4);
    expect(read(k1, a, BASE)).toBe(read(k0, a, BASE));
    expect(cached(k1, BASE)).toBe(pfns[0]);
    expect(changeProtNuma(k0, a, BASE, BASE + 4)).toBe(4);
    for (let i = 0; i < 4; i++) {
      const e = pte(k0, a, BASE + i);
      expect(pteIsProtNone(e.lo)).toBe(true);
      expect(e.pfn).toBe(pfns[i]);
      expect(e.lo & PTE_RW).toBe(PTE_RW);
    }
    // The scan's flush reached the CPU that cached page 0.
    expect(cached(k1, BASE)).toBe(-1);
    setNumaMigratePercent(0);
    const want = write(k0, a, BASE + 1, 2);
    expect(want).toBe(pfns[1]);
    expect(read(k1, a, BASE + 1)).toBe(read(k0, a, BASE + 1));
    const e = pte(k0, a, BASE + 1);
    expect([e.lo & PTE_P, e.lo & PTE_RW, e.pfn]).toEqual([PTE_P, PTE_RW, pfns[1]]);
    expect(numaTally.faults).toBe(1);
    expect(numaTally.migrated).toBe(0);
    expect(violationCount(mem.views)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('a migrating fault moves the content to a new frame, maps it with the old rights and frees the old one', () => {
    const { mem, k0, k1, a, pfns } = shared(4);
    const before = read(k0, a, BASE + 2);
    changeProtNuma(k0, a, BASE, BASE + 4);
    setNumaMigratePercent(100);
    expect(read(k1, a, BASE + 2)).toBe(before);
    const e = pte(k0, a, BASE + 2);
    expect(e.pfn).not.toBe(pfns[2]);
    expect([e.lo & PTE_P, e.lo & PTE_RW]).toEqual([PTE_P, PTE_RW]);
    expect(pageRefcount(k0, e.pfn)).toBe(1);
    expect(allocated(k0, pfns[2]!)).toBe(false);
    expect(numaTally.migrated).toBe(1);
    // Writable as before: the write goes to the new frame without another fault.
    expect(write(k0, a, BASE + 2, 77)).toBe(e.pfn);
    expect(violationCount(mem.views)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('a page shared by fork is not migrated: the fault restores its copy-on-write entry', () => {
    const { mem, k0, a, pfns } = shared(2);
    changeProtNuma(k0, a, BASE, BASE + 2);
    const child = dupMm(k0, a);
    expect(child).toBeGreaterThanOrEqual(0);
    // Fork copied the PROT_NONE entries, write-protected on both sides.
    for (const mm of [a, child]) {
      const e = pte(k0, mm, BASE);
      expect(pteIsProtNone(e.lo)).toBe(true);
      expect(e.lo & PTE_RW).toBe(0);
    }
    expect(pageRefcount(k0, pfns[0]!)).toBe(2);
    setNumaMigratePercent(100);
    const v = read(k0, a, BASE);
    expect(pte(k0, a, BASE).pfn).toBe(pfns[0]);
    expect(numaTally.migrated).toBe(0);
    // The write copies (do_wp_page), and the child keeps the old content.
    const copy = write(k0, a, BASE, 55);
    expect(copy).not.toBe(pfns[0]);
    switchTo(k0, child);
    expect(read(k0, child, BASE)).toBe(v);
    expect(violationCount(mem.views)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('mprotect(PROT_READ) takes write from PROT_NONE entries too', () => {
    const { mem, k0, a } = shared(2);
    changeProtNuma(k0, a, BASE, BASE + 2);
    expect(sysMprotect(k0, a, BASE, 2, VM_READ)).toBe(0);
    expect(pte(k0, a, BASE).lo & PTE_RW).toBe(0);
    setNumaMigratePercent(0);
    read(k0, a, BASE);
    const e = pte(k0, a, BASE);
    expect([e.lo & PTE_P, e.lo & PTE_RW]).toEqual([PTE_P, 0]);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });
});

/**
 * CPU 1 caches page 0 writable; CPU 0's scan has made it PROT_NONE and not
 * flushed yet when CPU 2 faults on it and migrates it; then CPU 1 writes.
 */
function staleWriterRace(bug: boolean) {
  const s = shared(2);
  const { k0, k1, k2, a, pfns } = s;
  expect(write(k1, a, BASE, 9)).toBe(pfns[0]);
  expect(cached(k1, BASE)).toBe(pfns[0]);
  if (bug) injected[BUG['numa-protnone-not-accessible']!] = 1;
  setNumaMigratePercent(100);
  let staged = false;
  let movedTo = -1;
  let cachedAfterMigration = -2;
  let stalePfn = -1;
  setKernelPointHook((site) => {
    if (site !== SITE_NUMA_SCAN || staged) return;
    staged = true;
    // CPU 2's hinting fault, while CPU 0's flush is pending.
    read(k2, a, BASE);
    movedTo = pte(k0, a, BASE).pfn;
    cachedAfterMigration = cached(k1, BASE);
    // CPU 1 writes through whatever it still has.
    stalePfn = write(k1, a, BASE, 10);
  });
  changeProtNuma(k0, a, BASE, BASE + 2);
  expect(staged).toBe(true);
  expect(movedTo).not.toBe(pfns[0]);
  return { ...s, movedTo, cachedAfterMigration, stalePfn };
}

describe('migration against a pending change_prot_numa flush (20841405940e)', () => {
  it('flushes the PROT_NONE entry: the stale writable TLB entry is gone and the write lands in the new page', () => {
    const { mem, k0, k1, a, movedTo, cachedAfterMigration, stalePfn } = staleWriterRace(false);
    expect(cachedAfterMigration).toBe(-1);
    expect(stalePfn).toBe(movedTo);
    // CPU 1's write is in the page the PTE now maps.
    expect(read(k0, a, BASE)).toBe(readFrame(k0.frame, movedTo));
    expect(read(k0, a, BASE)).toBe(read(k1, a, BASE));
    expect(violationCount(mem.views)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('with numa-protnone-not-accessible, CPU 1 writes the old, freed page through its stale entry', () => {
    const { mem, pfns, cachedAfterMigration, stalePfn } = staleWriterRace(true);
    expect(cachedAfterMigration).toBe(pfns[0]);
    expect(stalePfn).toBe(pfns[0]);
    const recs = violationRecords(mem.views);
    expect(recs.length).toBeGreaterThan(0);
    expect(recs[0]!.cpu).toBe(1);
    expect(recs[0]!.pfn).toBe(pfns[0]);
    expect(VIOLATION_NAMES[recs[0]!.kind]).toMatch(/stale/);
  });
});

describe('zap of PROT_NONE and migration entries', () => {
  it('MADV_DONTNEED clears PROT_NONE entries and drops their references', () => {
    const { mem, k0, a, pfns } = shared(4);
    changeProtNuma(k0, a, BASE, BASE + 4);
    expect(sysMadviseDontneed(k0, a, BASE, 4)).toBe(0);
    for (let i = 0; i < 4; i++) {
      expect(pte(k0, a, BASE + i).lo).toBe(0);
      expect(allocated(k0, pfns[i]!)).toBe(false);
    }
    expect(read(k0, a, BASE)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('a zap of the migration entry mid-copy: the migration gives both pages back, no frame lost', () => {
    const { mem, k0, k1, a, pfns } = shared(2);
    changeProtNuma(k0, a, BASE, BASE + 2);
    setNumaMigratePercent(100);
    let sawMigration = false;
    setKernelPointHook((site) => {
      if (site !== SITE_MIGRATE_COPY) return;
      setKernelPointHook(null);
      sawMigration = pteIsMigration(pte(k0, a, BASE).lo);
      expect(sysMadviseDontneed(k0, a, BASE, 2)).toBe(0);
    });
    // CPU 1's access migrates; the retry after the zap maps a zero page.
    expect(read(k1, a, BASE)).toBe(0);
    expect(sawMigration).toBe(true);
    // The old page was freed (and may already hold the retry's zero page).
    expect(pageRefcount(k0, pte(k0, a, BASE).pfn)).toBe(1);
    expect(pfns.length).toBe(2);
    expect(numaTally.migrated).toBe(0);
    expect(violationCount(mem.views)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('munmap of a PROT_NONE range drops the references and frees the emptied table', () => {
    const { mem, k0, a, pfns } = shared(4);
    changeProtNuma(k0, a, BASE, BASE + 4);
    expect(sysMunmap(k0, a, BASE, 4)).toBe(0);
    for (const p of pfns) expect(allocated(k0, p)).toBe(false);
    expect(pteTablePfn(k0, mmPgd(k0, a), BASE * PAGE)).toBe(-1);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('the end check counts PROT_NONE entries as mappings and reports a migration entry left behind', () => {
    const { mem, k0, a } = shared(2);
    changeProtNuma(k0, a, BASE, BASE + 2);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
    const table = pteTablePfn(k0, mmPgd(k0, a), BASE * PAGE);
    const w = entryWord(ptSlotOf(k0.frame, table), BASE & 511);
    setEntry(k0.env.pt, k0.env.seq, w, migrationFromEntry(readLo(k0.env.pt, w)), readHi(k0.env.pt, w));
    expect(checkMachineAtEnd(mem).violations.join('\n')).toMatch(/migration entry is left at va 0x1000000000/);
  });
});
