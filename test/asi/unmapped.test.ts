// Unmapped allocations (FREETYPE_UNMAPPED, __GFP_UNMAPPED): a whole
// pageblock leaves the ordinary direct map, shot down on every CPU, and
// comes back at free; the oracle's audit sees a CPU that still caches it.
import { afterEach, describe, expect, it } from 'vitest';
import { PB_UNMAPPED } from '../../native-layout/bits.js';
import { PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import { checkAllocator } from '../../src/check/allocator-invariants.js';
import { firstViolation, violationCount } from '../../src/check/oracle.js';
import { directMapInit, physmapVa } from '../../src/kernel/asi/direct-map.js';
import { asiPhysmapBlockMapped } from '../../src/kernel/asi/physmap.js';
import { KernelUnmappedOps } from '../../src/kernel/asi/unmapped-ops.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import {
  GFP_ATOMIC, GFP_KERNEL, GFP_UNMAPPED, GfpError, PageAllocator, __GFP_MOVABLE, __GFP_SENSITIVE, __GFP_UNMAPPED,
  pageblockFlags,
} from '../../src/kernel/page_alloc/index.js';
import { asiMachine, resetAsiMachine } from './asi-machine.js';

afterEach(resetAsiMachine);

function machine(asi = true) {
  const m = asiMachine(2, {}, asi);
  directMapInit(m.boot, !asi);
  return m;
}

/** CPU k caches a direct-map entry of every pageblock. */
function cacheEveryBlock(k: KernelCtx): void {
  for (let b = 0; b < k.env.frames; b += PAGEBLOCK_NR_PAGES) expect(k.mmu.read(physmapVa(b))).toBeGreaterThanOrEqual(0);
}

describe('unmapped allocations', () => {
  for (const asi of [false, true]) {
    it(`${asi ? 'asi on' : 'asi off'}: the block leaves every direct map and every TLB, and returns at free`, () => {
      const { mem, cpu } = machine(asi);
      const [k0, k1] = [cpu[0]!, cpu[1]!];
      cacheEveryBlock(k0);
      const p = k1.alloc.allocPages(1, PAGEBLOCK_ORDER, GFP_UNMAPPED);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p % PAGEBLOCK_NR_PAGES).toBe(0);
      expect(pageblockFlags(mem.views.pageblock, p) & PB_UNMAPPED).toBe(PB_UNMAPPED);
      // Not mapped anywhere: the direct map faults on both CPUs (CPU 0's
      // cached entry went with the shootdown), the nonsensitive physmap
      // never had it.
      expect(k0.mmu.read(physmapVa(p + 7))).toBeLessThan(0);
      expect(k1.mmu.read(physmapVa(p))).toBeLessThan(0);
      if (asi) expect(asiPhysmapBlockMapped(k1, p)).toBe(false);
      expect(violationCount(mem.views)).toBe(0);
      // Free (from the other CPU): mapped again, an ordinary sensitive block.
      k0.alloc.freePages(0, p, PAGEBLOCK_ORDER);
      expect(pageblockFlags(mem.views.pageblock, p) & PB_UNMAPPED).toBe(0);
      expect(k0.mmu.read(physmapVa(p + 7))).toBeGreaterThanOrEqual(0);
      expect(checkAllocator(mem)).toEqual([]);
      // Flip back: ordinary allocations reach it again.
      const again: number[] = [];
      for (let i = 0; i < 64; i++) again.push(k1.alloc.allocPages(1, PAGEBLOCK_ORDER, GFP_KERNEL | __GFP_SENSITIVE));
      expect(again).toContain(p);
      expect(violationCount(mem.views)).toBe(0);
    });
  }

  it('is refused for non-blocking requests and with interrupts off; bad orders and movable memory are errors', () => {
    const { cpu } = machine();
    const k = cpu[0]!;
    expect(k.alloc.allocPages(0, PAGEBLOCK_ORDER, GFP_ATOMIC | __GFP_UNMAPPED)).toBe(-1);
    expect(() => k.alloc.allocPages(0, 0, GFP_UNMAPPED)).toThrow(GfpError);
    expect(() => k.alloc.allocPages(0, PAGEBLOCK_ORDER, GFP_UNMAPPED | __GFP_MOVABLE)).toThrow(/valid only with unmovable/);
  });

  it('the audit reports a CPU still caching the block when the shootdown is left out (unmapped-direct-map)', () => {
    const { mem, cpu } = machine();
    const [k0, k1] = [cpu[0]!, cpu[1]!];
    cacheEveryBlock(k0);
    const ops = new KernelUnmappedOps(k1);
    const block = 3 * PAGEBLOCK_NR_PAGES;
    expect(ops.unmapDirect(1, block)).toBe(true);
    ops.auditUnmapped(1, block);
    const v = firstViolation(mem.views)!;
    expect(v.kindName).toBe('unmapped-direct-map');
    expect(v.pfn).toBe(block);
    expect(v.fillGen).toBe(0);
    // With the shootdown the same audit is silent.
    ops.restoreDirect(1, block);
    const other = 4 * PAGEBLOCK_NR_PAGES;
    expect(ops.unmapDirect(1, other)).toBe(true);
    ops.flushDirect(1, other);
    ops.auditUnmapped(1, other);
    expect(violationCount(mem.views)).toBe(1);
    ops.restoreDirect(1, other);
    expect((k1.alloc as PageAllocator).ctx.unmappedOps).toBeInstanceOf(KernelUnmappedOps);
  });
});
