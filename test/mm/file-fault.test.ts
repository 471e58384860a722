import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_STRIDE, FR_REFCOUNT, MM_ANON_PAGES, MM_STRIDE } from '../../native-layout/fields.js';
import { VM_READ, VM_WRITE } from '../../native-layout/bits.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { mmput } from '../../src/kernel/mm/exit.js';
import { dupMm } from '../../src/kernel/mm/fork.js';
import { findFilePage, isFilePage } from '../../src/kernel/mm/filemap.js';
import { sysMadviseDontneed } from '../../src/kernel/mm/madvise.js';
import { mmAlloc } from '../../src/kernel/mm/mm.js';
import { sysMmap } from '../../src/kernel/mm/mmap.js';
import { sysMunmap } from '../../src/kernel/mm/munmap.js';
import { pageRefcount } from '../../src/kernel/mm/page-ref.js';
import { EINVAL } from '../../src/kernel/mm/pgtable.js';
import { BASE, cached, fileProcessWith, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const FILE = 1;
const RW = VM_READ | VM_WRITE;

/** A new address space mapping `pages` pages of FILE from pgoff at BASE. */
const fileProcess = (k: KernelCtx, pages: number, shared: boolean, pgoff = 0): number =>
  fileProcessWith(k, FILE, pages, shared, pgoff);

function machine() {
  const m = kernelMachine(2);
  return { ...m, k0: m.cpu[0]!, k1: m.cpu[1]! };
}

const clean = { violations: [], framesLost: 0 };
const anonPages = (k: KernelCtx, mm: number): number => k.mm[mm * MM_STRIDE + MM_ANON_PAGES]!;

describe('page cache faults: private file mappings', () => {
  it('a read fault maps the cache page read-only; a write then copies it into an anonymous page', () => {
    const { k0, mem } = machine();
    const a = fileProcess(k0, 4, false);
    switchTo(k0, a);
    expect(read(k0, a, BASE + 1)).toBe(0);
    const page = findFilePage(k0.views.file, FILE, 1);
    expect(page).toBeGreaterThanOrEqual(0);
    expect(isFilePage(k0, page)).toBe(true);
    expect(cached(k0, BASE + 1)).toBe(page);
    expect(pageRefcount(k0, page)).toBe(2); // cache + one PTE
    expect(anonPages(k0, a)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual(clean);

    const copy = write(k0, a, BASE + 1, 7);
    expect(copy).toBeGreaterThanOrEqual(0);
    expect(copy).not.toBe(page);
    expect(isFilePage(k0, copy)).toBe(false);
    expect(read(k0, a, BASE + 1) & 0xffff).toBe(7);
    expect(pageRefcount(k0, page)).toBe(1); // only the cache
    expect(pageRefcount(k0, copy)).toBe(1);
    expect(anonPages(k0, a)).toBe(1);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('a write fault on a none PTE copies the file page (do_cow_fault); the file keeps its content', () => {
    const { k0, k1, mem } = machine();
    const a = fileProcess(k0, 2, false);
    const b = fileProcess(k1, 2, false);
    switchTo(k0, a);
    switchTo(k1, b);
    const pa = write(k0, a, BASE, 5);
    const page = findFilePage(k0.views.file, FILE, 0);
    expect(page).toBeGreaterThanOrEqual(0);
    expect(pa).not.toBe(page);
    expect(pageRefcount(k0, page)).toBe(1);
    expect(read(k1, b, BASE)).toBe(0); // the other process sees the file, not our copy
    expect(pageRefcount(k0, page)).toBe(2);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('madvise(DONTNEED) frees the copies; reads return the file content (zero) again', () => {
    const { k0, k1, mem } = machine();
    const a = fileProcess(k0, 4, false);
    switchTo(k0, a);
    switchTo(k1, a);
    for (let i = 0; i < 4; i++) write(k0, a, BASE + i, i + 1);
    for (let i = 0; i < 4; i++) expect(read(k1, a, BASE + i) & 0xffff).toBe(i + 1);
    expect(anonPages(k0, a)).toBe(4);
    expect(sysMadviseDontneed(k0, a, BASE, 4)).toBe(0);
    expect(cached(k1, BASE + 2)).toBe(-1);
    expect(anonPages(k0, a)).toBe(0);
    for (let i = 0; i < 4; i++) expect(read(k1, a, BASE + i)).toBe(0);
    expect(anonPages(k0, a)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });
});

describe('page cache faults: shared file mappings', () => {
  it('a write hits the cache page itself; another process mapping the file sees it', () => {
    const { k0, k1, mem } = machine();
    const a = fileProcess(k0, 2, true);
    const b = fileProcess(k1, 2, true);
    switchTo(k0, a);
    switchTo(k1, b);
    const pfn = write(k0, a, BASE + 1, 9);
    expect(pfn).toBe(findFilePage(k0.views.file, FILE, 1));
    expect(read(k1, b, BASE + 1) & 0xffff).toBe(9);
    expect(pageRefcount(k0, pfn)).toBe(3); // cache + two PTEs
    expect(anonPages(k0, a)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('madvise(DONTNEED) drops the mappings but the cache keeps the data', () => {
    const { k0, k1, mem } = machine();
    const a = fileProcess(k0, 4, true);
    switchTo(k0, a);
    switchTo(k1, a);
    for (let i = 0; i < 4; i++) write(k0, a, BASE + i, 20 + i);
    for (let i = 0; i < 4; i++) read(k1, a, BASE + i);
    const pfn = findFilePage(k0.views.file, FILE, 2);
    expect(pageRefcount(k0, pfn)).toBe(2);
    expect(sysMadviseDontneed(k0, a, BASE, 4)).toBe(0);
    expect(cached(k1, BASE + 2)).toBe(-1);
    expect(pageRefcount(k0, pfn)).toBe(1);
    // Conservation: unmapped cache pages are reachable through the cache.
    expect(checkMachineAtEnd(mem)).toEqual(clean);
    for (let i = 0; i < 4; i++) expect(read(k1, a, BASE + i) & 0xffff).toBe(20 + i);
    expect(findFilePage(k0.views.file, FILE, 2)).toBe(pfn);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('munmap and exit drop the mappings; the cache pages stay, counted once each', () => {
    const { k0, k1, mem } = machine();
    const a = fileProcess(k0, 4, true, 8);
    const other = processWith(k1, 1, BASE);
    switchTo(k0, a);
    for (let i = 0; i < 4; i++) write(k0, a, BASE + i, 30 + i);
    expect(sysMunmap(k0, a, BASE, 2)).toBe(0);
    expect(pageRefcount(k0, findFilePage(k0.views.file, FILE, 8))).toBe(1);
    expect(pageRefcount(k0, findFilePage(k0.views.file, FILE, 10))).toBe(2);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
    switchTo(k0, other);
    mmput(k0, a);
    for (let i = 8; i < 12; i++) expect(pageRefcount(k0, findFilePage(k0.views.file, FILE, i))).toBe(1);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('the end-of-run check reports a cache page whose refcount is off', () => {
    const { k0, mem } = machine();
    const a = fileProcess(k0, 1, true);
    switchTo(k0, a);
    const pfn = write(k0, a, BASE, 1);
    // A leaked reference.
    Atomics.add(k0.frame, pfn * FRAME_STRIDE + FR_REFCOUNT, 1);
    const r = checkMachineAtEnd(mem);
    expect(r.violations.some((l) => l.includes(`frame ${pfn}`) && l.includes('page cache'))).toBe(true);
  });

  it('fork shares a shared-file page writable on both sides and a private one copy-on-write', () => {
    const { k0, k1, mem } = machine();
    const a = fileProcess(k0, 1, true);
    expect(sysMmap(k0, a, BASE + 1, 1, RW, FILE, 1)).toBe(0); // private, next file page
    switchTo(k0, a);
    const shared = write(k0, a, BASE, 3);
    expect(read(k0, a, BASE + 1)).toBe(0);
    const priv = findFilePage(k0.views.file, FILE, 1);
    const c = dupMm(k0, a);
    expect(c).toBeGreaterThanOrEqual(0);
    expect(anonPages(k0, c)).toBe(0);
    expect(pageRefcount(k0, shared)).toBe(3);
    expect(pageRefcount(k0, priv)).toBe(3);
    switchTo(k1, c);
    expect(write(k1, c, BASE, 4)).toBe(shared);
    expect(read(k0, a, BASE) & 0xffff).toBe(4);
    const copy = write(k1, c, BASE + 1, 5);
    expect(copy).not.toBe(priv);
    expect(read(k0, a, BASE + 1)).toBe(0);
    expect(anonPages(k0, c)).toBe(1);
    expect(checkMachineAtEnd(mem)).toEqual(clean);
  });

  it('mmap of a file range outside the page cache is EINVAL', () => {
    const { k0 } = machine();
    const mm = mmAlloc(k0);
    expect(sysMmap(k0, mm, BASE, 4, RW, FILE, 510)).toBe(EINVAL);
    expect(sysMmap(k0, mm, BASE, 4, RW, 99, 0)).toBe(EINVAL);
  });
});
