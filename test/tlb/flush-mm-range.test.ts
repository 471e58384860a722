import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { LOADED_MM_SWITCHING } from '../../native-layout/bits.js';
import { CPU_LOADED_MM, CPU_STRIDE } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { FLUSH_GEN_VALID, flushInfo0, shouldFlushTlb } from '../../src/kernel/tlb/flush-func.js';
import { PAGE_SHIFT_4K, TLB_SINGLE_PAGE_FLUSH_CEILING, flushTlbMmRange } from '../../src/kernel/tlb/flush-mm.js';
import { BASE, cached, goLazy, kernelMachine, processWith, resetMachineState, switchTo, tlbGen, write } from './kernel-machine.js';

afterEach(resetMachineState);

const count = (k: KernelCtx, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;

/** CPUs 0 and 1 run mm a; CPU 1 caches `pages` pages from BASE. */
function twoCpus(pages: number) {
  const m = kernelMachine(3);
  const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
  const a = processWith(k0, pages);
  switchTo(k0, a);
  switchTo(k1, a);
  const pfns = Array.from({ length: pages }, (_, i) => write(k1, a, BASE + i, i + 1));
  return { ...m, k0, k1, a, pfns };
}

describe('flush_tlb_mm_range', () => {
  it('bumps tlb_gen once and brings every CPU running the mm to it', () => {
    const { k0, k1, a } = twoCpus(4);
    flushTlbMmRange(k0, a, BASE, BASE + 4, PAGE_SHIFT_4K, false);
    expect(tlbGen(k0, a)).toBe(1);
    expect(cached(k1, BASE + 3)).toBe(-1);
    expect(count(k0, 'flushesLocal')).toBe(1);
    expect(count(k1, 'flushesRemote')).toBe(1);
  });

  it(`flushes up to ${TLB_SINGLE_PAGE_FLUSH_CEILING} pages one INVLPG each, and a longer range in full`, () => {
    const { k0, k1, a } = twoCpus(40);
    const invlpg = count(k1, 'invlpg');
    flushTlbMmRange(k0, a, BASE, BASE + TLB_SINGLE_PAGE_FLUSH_CEILING, PAGE_SHIFT_4K, false);
    expect(count(k1, 'invlpg') - invlpg).toBe(TLB_SINGLE_PAGE_FLUSH_CEILING);
    expect(count(k1, 'flushesFull')).toBe(0);
    flushTlbMmRange(k0, a, BASE, BASE + TLB_SINGLE_PAGE_FLUSH_CEILING + 1, PAGE_SHIFT_4K, false);
    expect(count(k1, 'invlpg') - invlpg).toBe(TLB_SINGLE_PAGE_FLUSH_CEILING);
    expect(count(k1, 'flushesFull')).toBe(1);
  });

  it('with ceiling-partial-flush, pages past the ceiling stay cached', () => {
    const { k0, k1, a, pfns } = twoCpus(40);
    injected[BUG['ceiling-partial-flush']!] = 1;
    flushTlbMmRange(k0, a, BASE, BASE + 40, PAGE_SHIFT_4K, false);
    expect(cached(k1, BASE + 32)).toBe(-1);
    expect(cached(k1, BASE + 39)).toBe(pfns[39]);
  });

  it('a lazy CPU is skipped for a PTE flush but reached before its page table is freed', () => {
    const { k0, k1, a } = twoCpus(2);
    goLazy(k1);
    const remote = count(k1, 'flushesRemote');
    flushTlbMmRange(k0, a, BASE, BASE + 1, PAGE_SHIFT_4K, false);
    expect(count(k1, 'flushesRemote')).toBe(remote);
    expect(k1.cpuState[k1.cpuAt + CPU_LOADED_MM]).toBe(a);
    flushTlbMmRange(k0, a, BASE, BASE + 1, PAGE_SHIFT_4K, true);
    expect(count(k1, 'flushesRemote')).toBe(remote + 1);
    expect(k1.cpuState[k1.cpuAt + CPU_LOADED_MM]).not.toBe(a);
  });

  it('with skip-lazy-on-pagetable-free, the lazy CPU keeps the mm loaded through a table free', () => {
    const { k0, k1, a } = twoCpus(2);
    injected[BUG['skip-lazy-on-pagetable-free']!] = 1;
    goLazy(k1);
    flushTlbMmRange(k0, a, BASE, BASE + 1, PAGE_SHIFT_4K, true);
    expect(k1.cpuState[k1.cpuAt + CPU_LOADED_MM]).toBe(a);
  });
});

describe('should_flush_tlb', () => {
  it('sends to a CPU in the middle of switch_mm, unless ignore-switching-window is injected', () => {
    const { mem, k0, a } = twoCpus(1);
    const info = flushInfo0(a, 0, FLUSH_GEN_VALID);
    mem.views.cpu[2 * CPU_STRIDE + CPU_LOADED_MM] = LOADED_MM_SWITCHING;
    expect(shouldFlushTlb(2, info)).toBe(true);
    injected[BUG['ignore-switching-window']!] = 1;
    expect(shouldFlushTlb(2, info)).toBe(false);
    expect(shouldFlushTlb(0, info)).toBe(true);
    expect(k0.cpu).toBe(0);
  });
});
