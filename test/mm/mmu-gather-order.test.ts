import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_STATE_MASK, FS_ALLOCATED } from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import { FRAME_STRIDE, FR_FLAGS } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { V_FREED_TABLE_CACHED, V_STALE_TLB, firstViolation, violationCount, violationKindCounts } from '../../src/check/oracle.js';
import { ipiPending } from '../../src/hw/apic.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { sysMadviseDontneed } from '../../src/kernel/mm/madvise.js';
import { sysMunmap } from '../../src/kernel/mm/munmap.js';
import { pollIpis } from '../../src/kernel/smp.js';
import { setSpinHook } from '../../src/sync/hook.js';
import { BASE, PAGE, goLazy, kernelMachine, processWith, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const state = (k: KernelCtx, pfn: number): number => k.frame[pfn * FRAME_STRIDE + FR_FLAGS]! & FRAME_STATE_MASK;

/**
 * CPU 0 runs `op` on mm a while CPU 1 (running a, or lazy on it) still
 * caches its page. When CPU 1's flush IPI is delivered (CPU 0 waits for it)
 * `probe` runs on CPU 1 first: the last instant a stale translation, or a
 * cached pointer to a freed table, can be used.
 */
function raceTheFlush(lazy: boolean, op: (k0: KernelCtx, a: number) => void, probe: (k1: KernelCtx, pfn: number) => void) {
  const m = kernelMachine(2);
  const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
  const a = processWith(k0, 4);
  switchTo(k0, a);
  switchTo(k1, a);
  const pfn = write(k1, a, BASE, 7);
  if (lazy) goLazy(k1);
  let probed = false;
  setSpinHook(() => {
    if (!probed && ipiPending(m.mem.views.ipi, 1)) {
      probed = true;
      probe(k1, pfn);
    }
    for (const k of m.cpu) pollIpis(k.smp);
  });
  op(k0, a);
  expect(probed).toBe(true);
  return { ...m, k0, k1, a, pfn };
}

const madvise = (k0: KernelCtx, a: number): void => void sysMadviseDontneed(k0, a, BASE, 4);
const munmap = (k0: KernelCtx, a: number): void => void sysMunmap(k0, a, BASE, 4);
/** CPU 1 reads through its TLB. */
const useStaleEntry = (k1: KernelCtx): void => void k1.mmu.access(BASE * PAGE, false, true);
/** CPU 1's walker follows its cached PDE pointer into the PTE table. */
const walkCachedTable = (k1: KernelCtx): void => void k1.mmu.specFill((BASE + 1) * PAGE);

describe('mmu_gather: unhook, flush every CPU that may cache it, then free', () => {
  it('a page is still allocated while remote CPUs are being flushed, and freed after', () => {
    let seen = -1;
    const { k1, pfn, mem } = raceTheFlush(false, madvise, (k, p) => {
      seen = state(k, p);
      useStaleEntry(k);
    });
    expect(seen).toBe(FS_ALLOCATED);
    expect(state(k1, pfn)).not.toBe(FS_ALLOCATED);
    expect(violationCount(mem.views)).toBe(0);
  });

  it('with free-before-flush, the remote CPU uses its stale entry to a freed frame and the oracle reports it', () => {
    const { mem, pfn } = raceTheFlush(false, (k0, a) => {
      injected[BUG['free-before-flush']!] = 1;
      madvise(k0, a);
    }, useStaleEntry);
    // The stale hit, then the flush that reaches CPU 1 late finds the same
    // entry still cached (flush-audit.ts); the first record is the hit.
    expect(violationCount(mem.views)).toBe(2);
    expect(firstViolation(mem.views)).toMatchObject({ kind: V_STALE_TLB, cpu: 1, pfn, va: BASE * PAGE });
  });

  it('a freed page table is still a table while the lazy CPUs that may walk it are being flushed', () => {
    const { k0, mem } = raceTheFlush(true, munmap, walkCachedTable);
    expect(violationCount(mem.views)).toBe(0);
    expect(k0.counters[k0.countersAt + C.pageTablesFreed]!).toBeGreaterThan(0);
  });

  it('with table-free-before-invalidate, the lazy CPU walks into the freed table', () => {
    const { mem } = raceTheFlush(true, (k0, a) => {
      injected[BUG['table-free-before-invalidate']!] = 1;
      munmap(k0, a);
    }, walkCachedTable);
    // The free itself is reported first (the freed-table ghost check: the
    // lazy CPU's paging-structure cache still points at the table), then the
    // lazy CPU's walk into it.
    expect(firstViolation(mem.views)?.kind).toBe(V_FREED_TABLE_CACHED);
    expect(violationKindCounts(mem.views).find((c) => c.kind === 'walk-non-pagetable')?.count ?? 0).toBeGreaterThan(0);
  });
});
