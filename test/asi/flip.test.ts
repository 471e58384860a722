// The sensitivity flip (src/kernel/page_alloc/flip.ts with the kernel's
// side in src/kernel/asi/flip-ops.ts): whole pageblocks, only when the
// lane is empty, never for non-blocking requests or with interrupts off;
// zero before map; unmap, shoot down, then the bit; the remainder on the
// new freetype; the mapping checked at every allocation and free.
import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { PB_NONSENSITIVE } from '../../native-layout/bits.js';
import { PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import { checkAllocator } from '../../src/check/allocator-invariants.js';
import { firstViolation, violationCount } from '../../src/check/oracle.js';
import { readFrame, writeFrame } from '../../src/hw/frames.js';
import { asiPhysmapBlockMapped, asiPhysmapVa } from '../../src/kernel/asi/physmap.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_NOWAIT, pageblockFlags } from '../../src/kernel/page_alloc/index.js';
import { localIrqRestore, localIrqSave } from '../../src/kernel/smp.js';
import { allBlocksNonsensitive, asiMachine, resetAsiMachine } from './asi-machine.js';

afterEach(resetAsiMachine);

const count = (k: KernelCtx, name: keyof typeof C): number => {
  let n = 0;
  for (let c = 0; c < k.cpus; c++) n += k.counters[c * (k.counters.length / k.cpus) + C[name]]!;
  return n;
};
const nonsensitive = (k: KernelCtx, pfn: number): boolean => (pageblockFlags(k.views.pageblock, pfn) & PB_NONSENSITIVE) !== 0;
const blockOf = (pfn: number): number => pfn - (pfn % PAGEBLOCK_NR_PAGES);

describe('sensitivity flip', () => {
  it('a nonsensitive request on a fresh machine flips one whole block: zeroed, mapped, bit set, remainder on the new lane', () => {
    const { mem, cpu } = asiMachine(2);
    const k = cpu[1]!;
    const pfn = k.alloc.allocPages(1, 0, GFP_KERNEL);
    expect(pfn).toBeGreaterThanOrEqual(0);
    const block = blockOf(pfn);
    expect(nonsensitive(k, block)).toBe(true);
    expect(asiPhysmapBlockMapped(k, block)).toBe(true);
    expect(count(k, 'pageblockFlipsToNonsensitive')).toBe(1);
    expect(count(k, 'pageblockFlipsToSensitive')).toBe(0);
    expect(count(k, 'zeroedPages')).toBeGreaterThanOrEqual(PAGEBLOCK_NR_PAGES);
    expect(readFrame(k.frame, pfn + 1)).toBe(0);
    expect(k.mmu.read(asiPhysmapVa(pfn + 3))).toBe(0);
    // The next nonsensitive requests come from the remainder, not new flips.
    for (let i = 0; i < 20; i++) expect(blockOf(k.alloc.allocPages(1, 0, GFP_KERNEL))).toBe(block);
    expect(count(k, 'pageblockFlipsToNonsensitive')).toBe(1);
    k.alloc.freePages(1, pfn, 0);
    expect(violationCount(mem.views)).toBe(0);
    expect(checkAllocator(mem)).toEqual([]);
  });

  it('is refused for non-blocking requests and with interrupts off', () => {
    const { mem, cpu } = asiMachine(1);
    const k = cpu[0]!;
    expect(k.alloc.allocPages(0, 0, GFP_NOWAIT)).toBe(-1);
    const f = localIrqSave(k.smp);
    expect(k.alloc.allocPages(0, 0, GFP_KERNEL)).toBe(-1);
    localIrqRestore(k.smp, f);
    expect(count(k, 'pageblockFlipsToNonsensitive')).toBe(0);
    expect(k.alloc.allocPages(0, 0, GFP_KERNEL)).toBeGreaterThanOrEqual(0);
    expect(violationCount(mem.views)).toBe(0);
  });

  it('to sensitive: unmap, shoot the physmap entry down on every CPU, then the bit', () => {
    const { mem, cpu } = asiMachine(2);
    const [k0, k1] = [cpu[0]!, cpu[1]!];
    const blocks = allBlocksNonsensitive(k1);
    expect(blocks.length).toBeGreaterThan(2);
    // CPU 0 caches a physmap translation of every nonsensitive block.
    for (const b of blocks) expect(k0.mmu.read(asiPhysmapVa(b + 5))).toBe(0);
    const p = k1.alloc.allocPages(1, PAGEBLOCK_ORDER, GFP_HIGHUSER_MOVABLE);
    expect(blocks).toContain(p);
    expect(nonsensitive(k1, p)).toBe(false);
    expect(asiPhysmapBlockMapped(k1, p)).toBe(false);
    expect(k0.mmu.tlb.findHuge2mAnyPcid(asiPhysmapVa(p))).toBe(-1);
    expect(count(k1, 'pageblockFlipsToSensitive')).toBe(1);
    expect(k0.counters[k0.countersAt + C.flushesRemote]).toBeGreaterThan(0);
    expect(violationCount(mem.views)).toBe(0);
    k1.alloc.freePages(1, p, PAGEBLOCK_ORDER);
    expect(checkAllocator(mem)).toEqual([]);
  });

  it('compacts before failing: unmapped page-cache pages move out of the last sensitive block', async () => {
    const { filemapGetPage } = await import('../../src/kernel/mm/filemap.js');
    const { putPage } = await import('../../src/kernel/mm/page-ref.js');
    const { mem, cpu } = asiMachine(2);
    const [k0, k1] = [cpu[0]!, cpu[1]!];
    const blocks = allBlocksNonsensitive(k1);
    // The one sensitive block left holds boot tables: free another whole
    // sensitive block by flipping one back, then scatter page-cache pages in it.
    const s = k0.alloc.allocPages(0, PAGEBLOCK_ORDER, GFP_HIGHUSER_MOVABLE);
    expect(blocks).toContain(s);
    k0.alloc.freePages(0, s, PAGEBLOCK_ORDER);
    const cached: number[] = [];
    for (let i = 0; i < 8; i++) {
      const pfn = filemapGetPage(k0, 0, i);
      writeFrame(k0.frame, pfn, 7, 100 + i);
      putPage(k0, pfn);
      cached.push(pfn);
    }
    expect(cached.every((p) => blockOf(p) === s)).toBe(true);
    // Take every nonsensitive block, then ask for one more nonsensitive
    // page: no list of that lane can serve it, no sensitive block is
    // wholly free, so the flip must compact block s first.
    const flipsBefore = count(k1, 'pageblockFlipsToNonsensitive');
    const held: number[] = [];
    for (;;) {
      const p = k1.alloc.allocPages(1, PAGEBLOCK_ORDER, GFP_KERNEL);
      if (p < 0) break;
      held.push(p);
    }
    expect(count(k1, 'compactions')).toBe(0);
    const page = k1.alloc.allocPages(1, 0, GFP_KERNEL);
    expect(page).toBeGreaterThanOrEqual(0);
    expect(blockOf(page)).toBe(s);
    expect(count(k1, 'compactions')).toBe(1);
    expect(count(k1, 'pageblockFlipsToNonsensitive')).toBe(flipsBefore + 1);
    k1.alloc.freePages(1, page, 0);
    // The file's pages moved and still read what was written.
    for (let i = 0; i < 8; i++) {
      const pfn = filemapGetPage(k0, 0, i);
      expect(blockOf(pfn)).not.toBe(s);
      expect(readFrame(k0.frame, pfn) & 0xffff).toBe(100 + i);
      putPage(k0, pfn);
    }
    for (const p of held) k1.alloc.freePages(1, p, PAGEBLOCK_ORDER);
    expect(violationCount(mem.views)).toBe(0);
    expect(checkAllocator(mem)).toEqual([]);
  });
});
