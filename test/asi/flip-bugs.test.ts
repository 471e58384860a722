// The injectable bugs of the flip layer, each caught by the oracle in a
// deterministic single-thread sequence (flip-storm catches them under real
// concurrency: see the bug catalogue), each with its clean control.
import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import { checkAllocator } from '../../src/check/allocator-invariants.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { firstViolation, violationCount } from '../../src/check/oracle.js';
import { writeFrame } from '../../src/hw/frames.js';
import { asiPhysmapVa } from '../../src/kernel/asi/physmap.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { GFP_KERNEL, __GFP_SENSITIVE, setPageblockNonsensitive } from '../../src/kernel/page_alloc/index.js';
import { allBlocksNonsensitive, asiMachine, resetAsiMachine } from './asi-machine.js';

afterEach(resetAsiMachine);

const GFP_SECRET = GFP_KERNEL | __GFP_SENSITIVE;
const inject = (name: string): void => {
  injected[BUG[name]!] = 1;
};
const kind = (k: KernelCtx): string | undefined => firstViolation(k.views)?.kindName;

/** CPU 0 caches a physmap entry of every nonsensitive block, then CPU 1 flips one back to sensitive. */
function flipBackWithCpu0Caching(bug: string | null) {
  const m = asiMachine(2);
  const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
  const blocks = allBlocksNonsensitive(k1);
  for (const b of blocks) k0.mmu.read(asiPhysmapVa(b));
  if (bug) inject(bug);
  const p = k1.alloc.allocPages(1, PAGEBLOCK_ORDER, GFP_SECRET);
  expect(blocks).toContain(p);
  return { ...m, k0, k1, p };
}

/** A block that held secrets (written, not zeroed) is freed, then a nonsensitive request flips it. */
function flipDirtyBlock(bug: string | null) {
  const m = asiMachine(2);
  const k = m.cpu[1]!;
  const s = k.alloc.allocPages(1, PAGEBLOCK_ORDER, GFP_SECRET);
  for (let i = 0; i < PAGEBLOCK_NR_PAGES; i += 64) writeFrame(k.frame, s + i, 9, 0x5ec);
  k.alloc.freePages(1, s, PAGEBLOCK_ORDER);
  if (bug) inject(bug);
  const p = k.alloc.allocPages(1, PAGEBLOCK_ORDER, GFP_KERNEL);
  expect(p).toBe(s);
  return { ...m, k, s };
}

describe('flip-order bugs', () => {
  it('flag-before-flush: the bit turns sensitive while CPU 0 still caches the block (isolation)', () => {
    const { k1, p } = flipBackWithCpu0Caching('flag-before-flush');
    expect(kind(k1)).toBe('isolation');
    expect(firstViolation(k1.views)!.pfn).toBe(p);
    expect(firstViolation(k1.views)!.fillGen).toBe(0); // the CPU that cached it
  });

  it('asi-unmap-no-global-flush: CPU 0 keeps the entry for good (isolation, and the end check sees it)', () => {
    const { mem, k1, p } = flipBackWithCpu0Caching('asi-unmap-no-global-flush');
    expect(kind(k1)).toBe('isolation');
    k1.alloc.freePages(1, p, PAGEBLOCK_ORDER);
    expect(checkMachineAtEnd(mem).violations.join('\n')).toMatch(/cpu 0 TLB still translates .* which is sensitive now/);
  });

  it('control: in the right order the flip back is clean and the end check is empty', () => {
    const { mem, k1, p } = flipBackWithCpu0Caching(null);
    expect(violationCount(k1.views)).toBe(0);
    k1.alloc.freePages(1, p, PAGEBLOCK_ORDER);
    expect(checkMachineAtEnd(mem).violations).toEqual([]);
  });

  it('no-zero-on-map and zero-after-map: the leaf is written over the old secrets (data leak)', () => {
    for (const bug of ['no-zero-on-map', 'zero-after-map']) {
      const { k, s } = flipDirtyBlock(bug);
      expect(kind(k)).toBe('data-leak');
      expect(firstViolation(k.views)!.pfn).toBe(s);
      resetAsiMachine();
    }
    const { k } = flipDirtyBlock(null);
    expect(violationCount(k.views)).toBe(0);
  });
});

describe('allocator-structure bugs', () => {
  it('remainder-wrong-freetype: the split remainder lands on the old lane (allocator check)', () => {
    const { mem, cpu } = asiMachine(1);
    inject('remainder-wrong-freetype');
    expect(cpu[0]!.alloc.allocPages(0, 0, GFP_KERNEL)).toBeGreaterThanOrEqual(0);
    expect(checkAllocator(mem).map((a) => a.message).join('\n')).toMatch(/nonsensitive/);
  });

  it('merge-across-sensitivity: a freed sensitive block merges with its nonsensitive buddy (allocator check)', () => {
    const run = (bug: string | null) => {
      const { mem, cpu } = asiMachine(2);
      const [k0, k1] = [cpu[0]!, cpu[1]!];
      allBlocksNonsensitive(k1);
      // The first flip back takes the lone order-9 block; the second splits
      // an order-10 pair of nonsensitive blocks, so its buddy is free.
      const x1 = k0.alloc.allocPages(0, PAGEBLOCK_ORDER, GFP_SECRET);
      const x = k0.alloc.allocPages(0, PAGEBLOCK_ORDER, GFP_SECRET);
      expect(x1).toBeGreaterThanOrEqual(0);
      expect(x).toBeGreaterThanOrEqual(0);
      if (bug) inject(bug);
      k0.alloc.freePages(0, x, PAGEBLOCK_ORDER);
      return checkAllocator(mem).map((a) => a.message);
    };
    expect(run('merge-across-sensitivity').length).toBeGreaterThan(0);
    resetAsiMachine();
    expect(run(null)).toEqual([]);
  });

  it('pindex-drops-sensitivity: a sensitive request gets a nonsensitive frame from the pcp list (asi-mapping)', () => {
    const { cpu } = asiMachine(1);
    const k = cpu[0]!;
    inject('pindex-drops-sensitivity');
    const ns = k.alloc.allocPages(0, 0, GFP_KERNEL);
    k.alloc.freePages(0, ns, 0);
    k.alloc.allocPages(0, 0, GFP_SECRET);
    expect(kind(k)).toBe('asi-mapping');
  });

  it('subblock-cross-sensitivity-fallback: an empty sensitive lane steals from the nonsensitive one (asi-mapping); clean it flips', () => {
    const run = (bug: string | null) => {
      const { cpu } = asiMachine(2);
      const [k0, k1] = [cpu[0]!, cpu[1]!];
      allBlocksNonsensitive(k1);
      // Sub-block fragments on the nonsensitive lists, for a steal to find.
      expect(k1.alloc.allocPages(1, 0, GFP_KERNEL)).toBeGreaterThanOrEqual(0);
      if (bug) inject(bug);
      for (let i = 0; i < 2000 && violationCount(k0.views) === 0; i++) {
        if (k0.alloc.allocPages(0, 0, GFP_SECRET) < 0) break;
        if (k0.counters[k0.countersAt + C.pageblockFlipsToSensitive]! > 0) break;
      }
      return k0;
    };
    expect(kind(run('subblock-cross-sensitivity-fallback'))).toBe('asi-mapping');
    resetAsiMachine();
    const k = run(null);
    expect(violationCount(k.views)).toBe(0);
    expect(k.counters[k.countersAt + C.pageblockFlipsToSensitive]).toBe(1);
  });

  it('the mapping check: a pageblock bit set without its physmap leaf is caught at the next allocation from it, and by the end check', () => {
    const { mem, cpu } = asiMachine(1);
    const k = cpu[0]!;
    const ns = k.alloc.allocPages(0, 0, GFP_KERNEL);
    const other = k.alloc.allocPages(0, PAGEBLOCK_ORDER, GFP_SECRET);
    setPageblockNonsensitive(k.views.pageblock, other, true);
    expect(checkMachineAtEnd(mem).violations.join('\n')).toMatch(new RegExp(`block ${other} is nonsensitive but absent`));
    k.alloc.freePages(0, other, PAGEBLOCK_ORDER);
    expect(kind(k)).toBe('asi-mapping');
    k.alloc.freePages(0, ns, 0);
  });
});
