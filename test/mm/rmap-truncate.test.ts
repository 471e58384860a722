import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_STATE_MASK, FS_ALLOCATED, VM_READ } from '../../native-layout/bits.js';
import { FILE_I_MMAP, FILE_STRIDE, FRAME_STRIDE, FR_CONTENT_GEN, FR_FLAGS } from '../../native-layout/fields.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { violationCount } from '../../src/check/oracle.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { mmput } from '../../src/kernel/mm/exit.js';
import { findFilePage } from '../../src/kernel/mm/filemap.js';
import { dupMm } from '../../src/kernel/mm/fork.js';
import { sysMprotect } from '../../src/kernel/mm/mprotect.js';
import { sysMunmap } from '../../src/kernel/mm/munmap.js';
import { pageRefcount } from '../../src/kernel/mm/page-ref.js';
import { EINVAL } from '../../src/kernel/mm/pgtable.js';
import { iMmapLockRead, iMmapLockWrite, iMmapUnlockRead, iMmapUnlockWrite, rmapWalkFile } from '../../src/kernel/mm/rmap.js';
import { truncateFileRange } from '../../src/kernel/mm/truncate.js';
import { downWriteTrylock, rwsemIsLocked } from '../../src/sync/rwsem.js';
import { BASE, cached, fileProcessWith, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const FILE = 2;
const clean = { violations: [], framesLost: 0 };

const fileProcess = (k: KernelCtx, pages: number, shared: boolean, pgoff = 0, start = BASE): number =>
  fileProcessWith(k, FILE, pages, shared, pgoff, start);

function machine() {
  const m = kernelMachine(3);
  return { ...m, k0: m.cpu[0]!, k1: m.cpu[1]!, k2: m.cpu[2]! };
}

function walk(k: KernelCtx, file: number, index: number): string[] {
  const seen: string[] = [];
  iMmapLockRead(k, file);
  rmapWalkFile(k, file, index, (mm, vpn) => seen.push(`${mm}@${(vpn - BASE).toString()}`));
  iMmapUnlockRead(k, file);
  return seen.sort();
}

const isFree = (k: KernelCtx, pfn: number): boolean => (k.frame[pfn * FRAME_STRIDE + FR_FLAGS]! & FRAME_STATE_MASK) !== FS_ALLOCATED;
const iMmapLocked = (k: KernelCtx, file: number): boolean => rwsemIsLocked(k.views.file, file * FILE_STRIDE + FILE_I_MMAP);

describe('rmap_walk_file: every mapping of a file page', () => {
  it('finds each VMA that covers the page, at the address it maps it', () => {
    const { k0 } = machine();
    const a = fileProcess(k0, 8, true, 0);
    const b = fileProcess(k0, 8, false, 4, BASE + 100);
    const anon = processWith(k0, 8, BASE);
    expect(walk(k0, FILE, 5)).toEqual([`${a}@5`, `${b}@101`]);
    expect(walk(k0, FILE, 1)).toEqual([`${a}@1`]);
    expect(walk(k0, FILE, 12)).toEqual([]);
    expect(walk(k0, FILE + 1, 5)).toEqual([]);
    expect(anon).toBeGreaterThan(0);
  });

  it('follows splits, unmaps, fork copies and exit', () => {
    const { k0 } = machine();
    const a = fileProcess(k0, 8, true, 0);
    expect(sysMprotect(k0, a, BASE + 2, 2, VM_READ)).toBe(0);
    expect(walk(k0, FILE, 3)).toEqual([`${a}@3`]);
    expect(walk(k0, FILE, 6)).toEqual([`${a}@6`]);
    expect(sysMunmap(k0, a, BASE + 5, 2)).toBe(0);
    expect(walk(k0, FILE, 6)).toEqual([]);
    expect(walk(k0, FILE, 7)).toEqual([`${a}@7`]);
    const c = dupMm(k0, a);
    expect(walk(k0, FILE, 7)).toEqual([`${a}@7`, `${c}@7`]);
    mmput(k0, a);
    expect(walk(k0, FILE, 7)).toEqual([`${c}@7`]);
    expect(iMmapLocked(k0, FILE)).toBe(false);
  });

  it('a reader excludes writers, and every VMA change leaves the lock free again', () => {
    const { k0 } = machine();
    const at = FILE * FILE_STRIDE + FILE_I_MMAP;
    iMmapLockRead(k0, FILE);
    expect(downWriteTrylock(k0.views.file, at)).toBe(false);
    iMmapUnlockRead(k0, FILE);
    iMmapLockWrite(k0, FILE);
    expect(iMmapLocked(k0, FILE)).toBe(true);
    iMmapUnlockWrite(k0, FILE);
    const a = fileProcess(k0, 4, true);
    expect(sysMprotect(k0, a, BASE + 1, 1, VM_READ)).toBe(0);
    expect(sysMunmap(k0, a, BASE, 4)).toBe(0);
    expect(iMmapLocked(k0, FILE)).toBe(false);
  });
});

describe('truncate: unmap everywhere, flush, then free', () => {
  it('a shared page mapped and cached on two CPUs is unmapped, flushed from both, freed, and reads zero again', () => {
    const { k0, k1, k2, mem } = machine();
    const a = fileProcess(k0, 4, true);
    const b = fileProcess(k1, 4, true, 0, BASE + 64);
    switchTo(k0, a);
    switchTo(k1, b);
    switchTo(k2, a);
    const pfn = write(k0, a, BASE + 1, 7);
    expect(read(k1, b, BASE + 65) & 0xffff).toBe(7);
    expect(read(k2, a, BASE + 1) & 0xffff).toBe(7);
    expect(cached(k2, BASE + 1)).toBe(pfn);
    expect(cached(k1, BASE + 65)).toBe(pfn);
    const gen = k0.frame[pfn * FRAME_STRIDE + FR_CONTENT_GEN]!;
    expect(truncateFileRange(k0, FILE, 0, 4)).toBe(1);
    expect(findFilePage(k0.views.file, FILE, 1)).toBe(-1);
    expect(cached(k2, BASE + 1)).toBe(-1);
    expect(cached(k1, BASE + 65)).toBe(-1);
    expect(isFree(k0, pfn)).toBe(true);
    expect(k0.frame[pfn * FRAME_STRIDE + FR_CONTENT_GEN]).not.toBe(gen);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
    // A hole: the next fault makes a fresh zero page.
    expect(read(k1, b, BASE + 65)).toBe(0);
    expect(read(k2, a, BASE + 1)).toBe(0);
    expect(violationCount(mem.views)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('private copies stay; read-only private mappings of the cache page go', () => {
    const { k0, k1, mem } = machine();
    const a = fileProcess(k0, 2, false);
    const s = fileProcess(k1, 2, true, 0, BASE + 64);
    switchTo(k0, a);
    switchTo(k1, s);
    write(k1, s, BASE + 64, 9);
    const page = findFilePage(k0.views.file, FILE, 0);
    expect(read(k0, a, BASE) & 0xffff).toBe(9); // read fault: the cache page, read-only
    expect(cached(k0, BASE)).toBe(page);
    write(k1, s, BASE + 65, 11);
    const copy = write(k0, a, BASE + 1, 12); // do_cow_fault: an anonymous copy
    expect(copy).not.toBe(findFilePage(k0.views.file, FILE, 1));
    expect(truncateFileRange(k0, FILE, 0, 2)).toBe(2);
    expect(cached(k0, BASE)).toBe(-1);
    expect(read(k0, a, BASE)).toBe(0);
    expect(read(k0, a, BASE + 1) & 0xffff).toBe(12);
    expect(pageRefcount(k0, copy)).toBe(1);
    expect(read(k1, s, BASE + 65)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('only the range goes; pages outside it keep their data and mappings', () => {
    const { k0, mem } = machine();
    const a = fileProcess(k0, 8, true);
    switchTo(k0, a);
    for (let i = 0; i < 8; i++) write(k0, a, BASE + i, 40 + i);
    const keep = findFilePage(k0.views.file, FILE, 6);
    expect(truncateFileRange(k0, FILE, 2, 6)).toBe(4);
    expect(cached(k0, BASE + 6)).toBe(keep);
    for (let i = 0; i < 8; i++) expect(read(k0, a, BASE + i) & 0xffff).toBe(i >= 2 && i < 6 ? 0 : 40 + i);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('a bad range is EINVAL and changes nothing', () => {
    const { k0 } = machine();
    expect(truncateFileRange(k0, FILE, 4, 2)).toBe(EINVAL);
    expect(truncateFileRange(k0, FILE, 0, 513)).toBe(EINVAL);
    expect(truncateFileRange(k0, 99, 0, 1)).toBe(EINVAL);
    expect(truncateFileRange(k0, FILE, 1.5, 2)).toBe(EINVAL);
  });
});
