// The folio lock between page faults and reclaim (src/kernel/mm/folio-lock.ts):
// the lost write of shared-file-writeback --option verifyBefore=1 (issue 11).
import { afterEach, describe, expect, it } from 'vitest';
import { NO_MM } from '../../native-layout/bits.js';
import { FILE_DISK, FILE_I_MMAP, FILE_STRIDE, PT_LOCK_STRIDE } from '../../native-layout/fields.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { violationCount } from '../../src/check/oracle.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { filePageDirty, findFilePage } from '../../src/kernel/mm/filemap.js';
import { folioTestLocked, folioTrylock, folioUnlock } from '../../src/kernel/mm/folio-lock.js';
import { sysMadviseDontneed } from '../../src/kernel/mm/madvise.js';
import { mmPgd } from '../../src/kernel/mm/mm.js';
import { ReclaimList, shrinkPageList } from '../../src/kernel/mm/vmscan.js';
import { pteTableSlot } from '../../src/kernel/mm/zap.js';
import { taskAlloc } from '../../src/kernel/sched/task.js';
import { pollIpis } from '../../src/kernel/smp.js';
import { SITE_LOCK_RELEASE, setKernelPointHook, setSpinHook } from '../../src/sync/hook.js';
import { rwsemIsLocked } from '../../src/sync/rwsem.js';
import { spinIsLocked } from '../../src/sync/spinlock.js';
import { BASE, cached, fileProcessWith, goLazy, kernelMachine, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(() => {
  setKernelPointHook(null);
  setSpinHook(null);
  resetMachineState();
});

const FILE = 3;
const KSWAPD_KIND = 1;
const PAGE = 1;

/** A fault gave up waiting (thrown from the spin hook while it waits with nothing held). */
class FaultWaited extends Error {}

/** CPUs 0 and 1 run a process mapping FILE shared; CPU 2 is kswapd, lazy on it. Flush IPIs are answered while anyone spins. */
function setup() {
  const m = kernelMachine(3);
  const [k0, k1, k2] = [m.cpu[0]!, m.cpu[1]!, m.cpu[2]!];
  const a = fileProcessWith(k0, FILE, 8, true);
  switchTo(k0, a);
  switchTo(k1, a);
  switchTo(k2, a);
  goLazy(k2);
  const kswapd = taskAlloc(k2, NO_MM, KSWAPD_KIND, 2, -1);
  setSpinHook(() => {
    for (const k of m.cpu) pollIpis(k.smp);
  });
  return { ...m, k0, k1, k2, a, kswapd, list: new ReclaimList() };
}

function shrink(k: KernelCtx, list: ReclaimList, tid: number, index: number): number {
  list.begin(k, tid, FILE);
  list.add(index);
  return shrinkPageList(k, list);
}

describe('the folio lock: a page reclaim found unmapped stays unmapped until it is written back', () => {
  it('a write fault between reclaim\'s rmap walk and its writeback waits, so the page is not written back under a writer', () => {
    const m = setup();
    const { k0, k1, k2, a, kswapd, list } = m;
    // Page 1: written (value 5), then discarded: dirty, cached, mapped nowhere.
    write(k1, a, BASE + PAGE, 5);
    expect(sysMadviseDontneed(k0, a, BASE + PAGE, 1)).toBe(0);
    expect(filePageDirty(k0, FILE, PAGE)).toBe(true);
    const slot = pteTableSlot(k0, mmPgd(k0, a), (BASE + PAGE) * 4096);
    const iMmap = FILE * FILE_STRIDE + FILE_I_MMAP;
    // Right after kswapd's rmap walk (its i_mmap read lock about to be
    // dropped, the PTE lock it took for the walk already free), CPU 1
    // faults the page in to write it again. Had that mapping been made, a
    // discard's flush still in flight to CPU 1 when kswapd writes the page
    // back would let one more store land after the writeback, and the page
    // would be evicted as clean without it (the lost write).
    let fired = false;
    let waited = false;
    let mappedDuringReclaim = -2;
    setKernelPointHook((site) => {
      if (fired || site !== SITE_LOCK_RELEASE) return;
      if (!rwsemIsLocked(k2.views.file, iMmap) || spinIsLocked(k2.views.ptLock, slot * PT_LOCK_STRIDE)) return;
      fired = true;
      expect(folioTestLocked(k2, FILE, PAGE)).toBe(true);
      setSpinHook(() => {
        throw new FaultWaited();
      });
      try {
        write(k1, a, BASE + PAGE, 6);
      } catch (e) {
        if (!(e instanceof FaultWaited)) throw e;
        waited = true;
      }
      setSpinHook(() => {
        for (const k of m.cpu) pollIpis(k.smp);
      });
      mappedDuringReclaim = cached(k1, BASE + PAGE);
    });
    expect(shrink(k2, list, kswapd, PAGE)).toBe(1);
    setKernelPointHook(null);
    expect(fired).toBe(true);
    expect(waited).toBe(true);
    expect(mappedDuringReclaim).toBe(-1);
    expect(list.stats.writebacks).toBe(1);
    expect(k0.views.file[FILE * FILE_STRIDE + FILE_DISK + PAGE]! & 0xffff).toBe(5);
    expect(findFilePage(k0.views.file, FILE, PAGE)).toBe(-1);
    expect(folioTestLocked(k0, FILE, PAGE)).toBe(false);
    // The writer's retried fault reads the page back in and its write lands.
    write(k1, a, BASE + PAGE, 6);
    expect(read(k0, a, BASE + PAGE) & 0xffff).toBe(6);
    expect(violationCount(m.mem.views)).toBe(0);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('reclaim skips a page whose folio lock is held (a fault mapping it), and takes it on a later pass', () => {
    const m = setup();
    const { k0, k1, k2, a, kswapd, list } = m;
    write(k1, a, BASE + PAGE, 5);
    expect(sysMadviseDontneed(k0, a, BASE + PAGE, 1)).toBe(0);
    expect(folioTrylock(k0, FILE, PAGE)).toBe(true);
    expect(shrink(k2, list, kswapd, PAGE)).toBe(0);
    expect(list.stats).toMatchObject({ scanned: 1, writebacks: 0, evicted: 0, kept: 1 });
    expect(filePageDirty(k0, FILE, PAGE)).toBe(true);
    folioUnlock(k0, FILE, PAGE);
    expect(shrink(k2, list, kswapd, PAGE)).toBe(1);
    expect(list.stats.writebacks).toBe(1);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('a fault on a page whose folio lock is held maps nothing until the holder unlocks it', () => {
    const m = setup();
    const { k0, k1, a } = m;
    write(k1, a, BASE + PAGE, 5);
    expect(sysMadviseDontneed(k0, a, BASE + PAGE, 1)).toBe(0);
    expect(folioTrylock(k0, FILE, PAGE)).toBe(true);
    let spins = 0;
    let mappedWhileLocked = -2;
    setSpinHook(() => {
      for (const k of m.cpu) pollIpis(k.smp);
      if (spins++ === 0) {
        mappedWhileLocked = cached(k1, BASE + PAGE);
        folioUnlock(k0, FILE, PAGE);
      }
    });
    write(k1, a, BASE + PAGE, 7);
    expect(spins).toBeGreaterThan(0);
    expect(mappedWhileLocked).toBe(-1);
    expect(read(k0, a, BASE + PAGE) & 0xffff).toBe(7);
    expect(folioTestLocked(k0, FILE, PAGE)).toBe(false);
    expect(checkMachineAtEnd(m.mem)).toEqual({ violations: [], framesLost: 0 });
  });
});
