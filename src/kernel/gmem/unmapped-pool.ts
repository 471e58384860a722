// A VM's pool of unmapped order-0 pages over whole FREETYPE_UNMAPPED
// pageblocks (issue 8, strategy (c)): the free list the unmapped freetype
// would have in the allocator (reference/asi_upstream_2026.md §3: "pools
// of already-unmapped pageblocks amortise the flush"). Our allocator hands
// out unmapped memory one whole pageblock at a time (page_alloc/unmapped.ts,
// with its shootdown), so the order-0 list lives here, above it: a page
// freed by the guest stays unmapped and is handed out again without any
// flush; only converting a new block (allocPages(9, GFP_UNMAPPED)) flushes.
// A block goes back to the allocator (which restores its direct map) only
// when it is wholly free and the pool keeps more than `keepFree` free pages.
//
// One pool per vCPU, touched by its owner only (a CPU-private object like
// the per-CPU page lists' owner-only fast path): its frames are allocated
// as far as the allocator and the end-of-run check are concerned.

import { PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from '../../../native-layout/shape.js';
import { GFP_UNMAPPED } from '../page_alloc/gfp.js';
import type { FrameAllocator } from '../mm/pgtable.js';

export class UnmappedPool {
  private readonly free: Int32Array;
  private nFree = 0;
  private readonly blocks: Int32Array;
  private readonly used: Int32Array;
  private nBlocks = 0;
  /** Blocks converted (each one kernel-range flush) and given back. */
  converted = 0;
  released = 0;

  /**
   * alloc: the raw page allocator (never the scoped wrapper: a refill is
   * the allocator's own business). maxBlocks bounds the pool.
   */
  constructor(private readonly alloc: FrameAllocator, maxBlocks: number, private readonly keepFree = 2 * PAGEBLOCK_NR_PAGES) {
    this.free = new Int32Array(maxBlocks * PAGEBLOCK_NR_PAGES);
    this.blocks = new Int32Array(maxBlocks);
    this.used = new Int32Array(maxBlocks);
  }

  /** An unmapped page, converting a new pageblock when none is free; -1 when that fails. */
  allocOne(cpu: number): number {
    if (this.nFree === 0 && !this.refill(cpu)) return -1;
    const pfn = this.free[--this.nFree]!;
    this.used[this.blockOf(pfn)]! += 1;
    return pfn;
  }

  private refill(cpu: number): boolean {
    if (this.nBlocks >= this.blocks.length) return false;
    const blk = this.alloc.allocPages(cpu, PAGEBLOCK_ORDER, GFP_UNMAPPED);
    if (blk < 0) return false;
    this.converted++;
    this.blocks[this.nBlocks] = blk;
    this.used[this.nBlocks] = 0;
    this.nBlocks++;
    // Highest first, so the LIFO hands out the block from its start.
    for (let i = PAGEBLOCK_NR_PAGES - 1; i >= 0; i--) this.free[this.nFree++] = blk + i;
    return true;
  }

  private blockOf(pfn: number): number {
    for (let b = 0; b < this.nBlocks; b++) {
      const base = this.blocks[b]!;
      if (pfn >= base && pfn < base + PAGEBLOCK_NR_PAGES) return b;
    }
    throw new RangeError(`pfn ${pfn} is not in this unmapped pool`);
  }

  /** A page back to the pool (still unmapped: no flush, no restore). */
  freeOne(cpu: number, pfn: number): void {
    this.used[this.blockOf(pfn)]! -= 1;
    this.free[this.nFree++] = pfn;
    if (this.nFree > this.keepFree) this.releaseFreeBlocks(cpu, this.keepFree);
  }

  /** Gives wholly free blocks back to the allocator until at most `keep` free pages stay. */
  releaseFreeBlocks(cpu: number, keep: number): void {
    for (let b = this.nBlocks - 1; b >= 0 && this.nFree > keep; b--) {
      if (this.used[b] !== 0) continue;
      const base = this.blocks[b]!;
      let n = 0;
      for (let i = 0; i < this.nFree; i++) {
        const p = this.free[i]!;
        if (p < base || p >= base + PAGEBLOCK_NR_PAGES) this.free[n++] = p;
      }
      this.nFree = n;
      this.nBlocks--;
      this.blocks[b] = this.blocks[this.nBlocks]!;
      this.used[b] = this.used[this.nBlocks]!;
      this.alloc.freePages(cpu, base, PAGEBLOCK_ORDER);
      this.released++;
    }
  }
}
