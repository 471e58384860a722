import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_STATE_MASK, FS_ALLOCATED, NO_MM } from '../../native-layout/bits.js';
import { FILE_DIRTY, FILE_DISK, FILE_STRIDE, FRAME_STRIDE, FR_FLAGS } from '../../native-layout/fields.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { violationCount } from '../../src/check/oracle.js';
import { ipiPending } from '../../src/hw/apic.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { filePageDirty, findFilePage, findGetPage } from '../../src/kernel/mm/filemap.js';
import { truncateFileRange } from '../../src/kernel/mm/truncate.js';
import { pageRefcount, putPage } from '../../src/kernel/mm/page-ref.js';
import { ReclaimList, shrinkPageList } from '../../src/kernel/mm/vmscan.js';
import { taskAlloc } from '../../src/kernel/sched/task.js';
import { pollIpis } from '../../src/kernel/smp.js';
import { setSpinHook } from '../../src/sync/hook.js';
import { BASE, cached, goLazy, fileProcessWith, kernelMachine, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const FILE = 3;
const KSWAPD_KIND = 1;

const sharedFileProcess = (k: KernelCtx, pages: number): number => fileProcessWith(k, FILE, pages, true);

/** CPUs 0 and 1 run a process mapping FILE shared; CPU 2 is kswapd, lazy on it. */
function setup() {
  const m = kernelMachine(3);
  const [k0, k1, k2] = [m.cpu[0]!, m.cpu[1]!, m.cpu[2]!];
  const a = sharedFileProcess(k0, 8);
  switchTo(k0, a);
  switchTo(k1, a);
  switchTo(k2, a);
  goLazy(k2);
  const kswapd = taskAlloc(k2, NO_MM, KSWAPD_KIND, 2, -1);
  const list = new ReclaimList();
  return { ...m, k0, k1, k2, a, kswapd, list };
}

function shrink(k: KernelCtx, list: ReclaimList, tid: number, ...indices: number[]): number {
  list.begin(k, tid, FILE);
  for (const i of indices) list.add(i);
  return shrinkPageList(k, list);
}

const allocated = (k: KernelCtx, pfn: number): boolean => (k.frame[pfn * FRAME_STRIDE + FR_FLAGS]! & FRAME_STATE_MASK) === FS_ALLOCATED;
const disk = (k: KernelCtx, index: number): number => k.views.file[FILE * FILE_STRIDE + FILE_DISK + index]! >>> 0;

/** Runs probe on CPU 1 the first time a flush IPI waits for it. */
function probeAtFlush(m: { cpu: readonly KernelCtx[]; mem: { views: { ipi: Int32Array } } }, probe: () => void): () => boolean {
  let probed = false;
  setSpinHook(() => {
    if (!probed && ipiPending(m.mem.views.ipi, 1)) {
      probed = true;
      probe();
    }
    for (const k of m.cpu) pollIpis(k.smp);
  });
  return () => probed;
}

describe('reclaim: unmap with the flush batched, flush, then free', () => {
  it('a clean mapped page is freed only after the batched flush reached the CPU still caching it', () => {
    const m = setup();
    const { k0, k1, k2, a, kswapd, list } = m;
    read(k0, a, BASE + 2);
    const pfn = findFilePage(k0.views.file, FILE, 2);
    expect(read(k1, a, BASE + 2)).toBe(0);
    expect(cached(k1, BASE + 2)).toBe(pfn);
    let stillAllocated = false;
    let staleHit = -1;
    const probed = probeAtFlush(m, () => {
      stillAllocated = allocated(k1, pfn);
      staleHit = k1.mmu.access((BASE + 2) * 4096, false, true);
    });
    expect(shrink(k2, list, kswapd, 2)).toBe(1);
    expect(probed()).toBe(true);
    expect(stillAllocated).toBe(true);
    expect(staleHit).toBe(pfn); // the stale entry is still usable until the IPI: harmless, the page is live
    expect(list.stats.deferred).toBe(1); // one PTE (both CPUs run the same mm), two TLBs
    expect(list.stats.batchFlushes).toBe(1);
    expect(allocated(k1, pfn)).toBe(false);
    expect(findFilePage(k0.views.file, FILE, 2)).toBe(-1);
    expect(cached(k1, BASE + 2)).toBe(-1);
    expect(violationCount(m.mem.views)).toBe(0);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('a dirty page is kept on the pass that unmaps it, written back and evicted on the next, and reads back from the file', () => {
    const m = setup();
    const { k0, k1, k2, a, kswapd, list } = m;
    const pfn = write(k0, a, BASE + 1, 77);
    expect(shrink(k2, list, kswapd, 1)).toBe(0);
    expect(list.stats.kept).toBe(1);
    expect(filePageDirty(k0, FILE, 1)).toBe(true);
    expect(findFilePage(k0.views.file, FILE, 1)).toBe(pfn);
    expect(pageRefcount(k0, pfn)).toBe(1);
    expect(cached(k0, BASE + 1)).toBe(-1);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
    expect(shrink(k2, list, kswapd, 1)).toBe(1);
    expect(list.stats.writebacks).toBe(1);
    expect(disk(k0, 1) & 0xffff).toBe(77);
    expect(findFilePage(k0.views.file, FILE, 1)).toBe(-1);
    expect(read(k1, a, BASE + 1) & 0xffff).toBe(77);
    expect(findFilePage(k0.views.file, FILE, 1)).not.toBe(-1);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('a page written back is flushed from every CPU first when the batch holds a dirty PTE (try_to_unmap_flush_dirty)', () => {
    const m = setup();
    const { k0, k1, k2, a, kswapd, list } = m;
    write(k1, a, BASE + 4, 5); // page 4: dirty and mapped, cached writable on CPU 1
    write(k0, a, BASE + 5, 6);
    expect(shrink(k2, list, kswapd, 5)).toBe(0); // page 5: unmapped dirty, kept
    write(k0, a, BASE + 5, 7); // the write fault maps it again, dirty
    expect(shrink(k2, list, kswapd, 5)).toBe(0);
    // List [4, 5]: 4 is unmapped with a writable PTE deferred; 5 is written
    // back; the dirty flush must come before 5's writeback.
    let diskAtFlush = -1;
    const probed = probeAtFlush(m, () => {
      diskAtFlush = disk(k0, 5);
    });
    shrink(k2, list, kswapd, 4, 5);
    expect(probed()).toBe(true);
    expect(diskAtFlush).toBe(0); // not written back yet when the flush ran
    expect(disk(k0, 5) & 0xffff).toBe(7);
    expect(cached(k1, BASE + 4)).toBe(-1);
    expect(violationCount(m.mem.views)).toBe(0);
  });

  it('with no other CPU in the mm, the PTE is flushed at once (ptep_clear_flush) and nothing is batched', () => {
    const m = kernelMachine(2);
    const k0 = m.cpu[0]!;
    const a = sharedFileProcess(k0, 4);
    switchTo(k0, a);
    const pfn = read(k0, a, BASE + 3) === 0 ? findFilePage(k0.views.file, FILE, 3) : -1;
    expect(cached(k0, BASE + 3)).toBe(pfn);
    const direct = taskAlloc(k0, a, KSWAPD_KIND, 0, -1);
    const list = new ReclaimList();
    expect(shrink(k0, list, direct, 3)).toBe(1);
    expect(list.stats).toMatchObject({ unmapped: 1, deferred: 0, batchFlushes: 0, evicted: 1 });
    expect(cached(k0, BASE + 3)).toBe(-1);
    expect(allocated(k0, pfn)).toBe(false);
    expect(violationCount(m.mem.views)).toBe(0);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('truncation takes a page reclaim has isolated out of the cache; reclaim then only drops its reference', () => {
    const m = setup();
    const { k0, k2, a, list, kswapd } = m;
    const pfn = write(k0, a, BASE + 6, 8);
    const isolated = findGetPage(k2, FILE, 6);
    expect(isolated).toBe(pfn);
    expect(truncateFileRange(k0, FILE, 6, 7)).toBe(1);
    expect(findFilePage(k0.views.file, FILE, 6)).toBe(-1);
    expect(allocated(k0, pfn)).toBe(true); // reclaim's reference keeps it
    expect(shrink(k2, list, kswapd, 6)).toBe(0); // nothing cached there now
    putPage(k2, pfn);
    expect(allocated(k0, pfn)).toBe(false);
    expect(read(k0, a, BASE + 6)).toBe(0);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('the end-of-run check reports a dirty mark on a page no longer cached (a lost write)', () => {
    const m = setup();
    m.k0.views.file[FILE * FILE_STRIDE + FILE_DIRTY + 5] = 1;
    expect(checkMachineAtEnd(m.mem).violations).toEqual([`page cache: file ${FILE} page 5 is marked dirty but not cached (its data was lost)`]);
  });
});
