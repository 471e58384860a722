// Unmapped allocations: FREETYPE_UNMAPPED blocks, absent from every direct
// map (the 2026 series "mm: Add __GFP_UNMAPPED", RFC 17/19
// __rmqueue_direct_map(); SEMANTICS.md §3 "2026 form";
// reference/asi_upstream_2026.md §3). Serves guest_memfd-style users whose
// memory the kernel itself must not be able to read by accident.
//
// The flip to unmapped follows the sensitivity flip (flip.ts) step for step:
// refused for non-blocking requests and with interrupts off (the shootdown
// waits for every CPU's ack); take a whole free unmovable pageblock under
// the zone lock, drop it; clear the block's 2 MiB leaf in the ordinary
// direct map (shared by every PGD); complete a kernel-range shootdown;
// only then set the pageblock's unmapped bit and hand the block out. Set
// the bit first and the block is "unmapped" while a CPU still caches a
// direct-map entry that reads it (the same window as flag-before-flush).
// The way back, at free: write the leaf again (no flush: nothing cached a
// non-present entry), clear the bit, then free as ordinary sensitive,
// unmovable memory.
//
// Simplifications, said plainly: an unmapped allocation is exactly one
// pageblock (order 9): there is no pool of unmapped free pages, so every
// allocation pays a shootdown and every free a remap (the series keeps
// unmapped blocks on their own free lists to amortise that); and no
// compaction is tried when no whole free block exists.

import { MIGRATE_UNMOVABLE as MIGRATE_UNMOVABLE_, PB_UNMAPPED as PB_UNMAPPED_, PB_UNMAPPED_LEAF as PB_UNMAPPED_LEAF_ } from '../../../native-layout/bits.js';
import { PAGEBLOCK_ORDER as PAGEBLOCK_ORDER_ } from '../../../native-layout/shape.js';
import { LOCK_CLASS_ASI_FLIP } from '../../check/lockdep.js';
import type { AllocCtx } from './ctx.js';
import { ALLOC_NON_BLOCK, GfpError, __GFP_MOVABLE, __GFP_RECLAIMABLE } from './gfp.js';
import { changePageblockRange, pageblockFlags, setPfnblockFlagsMask } from './pageblock.js';
import { RMQUEUE_NORMAL, rmqueue } from './rmqueue.js';
import { zoneLock, zoneUnlock } from './zone.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MIGRATE_UNMOVABLE = MIGRATE_UNMOVABLE_, PB_UNMAPPED = PB_UNMAPPED_, PB_UNMAPPED_LEAF = PB_UNMAPPED_LEAF_, PAGEBLOCK_ORDER = PAGEBLOCK_ORDER_;

/** What the unmapped path needs from the kernel (page tables, shootdown, oracle), per CPU. */
export interface UnmappedOps {
  /** Interrupts off on cpu: refuse (the shootdown could never be acknowledged). */
  irqsOff(cpu: number): boolean;
  /** Clears the block's leaf in the ordinary direct map (TLBs may still hold it); false if there was none. */
  unmapDirect(cpu: number, pfn: number): boolean;
  /** flush_tlb_kernel_range over the block's direct-map range; returns once every CPU acked. */
  flushDirect(cpu: number, pfn: number): void;
  /** Writes the block's leaf again (no flush needed). */
  restoreDirect(cpu: number, pfn: number): void;
  /** Oracle: at the moment the bit is set, no CPU caches a direct-map entry for the block. */
  auditUnmapped(cpu: number, pfn: number): void;
}

/** Whether pfn's pageblock is FREETYPE_UNMAPPED. */
export function pageblockUnmapped(pb: Int32Array, pfn: number): boolean {
  return (pageblockFlags(pb, pfn) & PB_UNMAPPED) !== 0;
}

/**
 * __rmqueue_direct_map() for an unmapped request: a whole pageblock taken
 * off the sensitive unmovable lane (own lists, then claim/steal) and
 * removed from the direct map. Its pfn (still to be prepared), or -1.
 * Throws GfpError for an order other than a pageblock's or a movable or
 * reclaimable request (FREETYPE_UNMAPPED is valid only with unmovable).
 */
export function rmqueueUnmapped(ctx: AllocCtx, cpu: number, order: number, gfp: number, allocFlags: number): number {
  if (order !== PAGEBLOCK_ORDER) {
    throw new GfpError(`__GFP_UNMAPPED with order ${order}: unmapped allocations are whole pageblocks here (order ${PAGEBLOCK_ORDER})`);
  }
  if ((gfp & (__GFP_MOVABLE | __GFP_RECLAIMABLE)) !== 0) {
    throw new GfpError(`__GFP_UNMAPPED with gfp 0x${gfp.toString(16)}: the unmapped freetype is valid only with unmovable memory`);
  }
  const ops = ctx.unmappedOps;
  if (ops === null || (allocFlags & ALLOC_NON_BLOCK) !== 0 || ops.irqsOff(cpu)) return -1;
  ctx.lockdep.acquire(cpu, LOCK_CLASS_ASI_FLIP, false);
  const saved = zoneLock(ctx, cpu);
  ctx.rmqMode[0] = RMQUEUE_NORMAL;
  const pfn = rmqueue(ctx, cpu, PAGEBLOCK_ORDER, MIGRATE_UNMOVABLE, 0, ctx.rmqMode);
  if (pfn >= 0) changePageblockRange(ctx.pageblock, pfn, PAGEBLOCK_ORDER, MIGRATE_UNMOVABLE);
  zoneUnlock(ctx, cpu, saved);
  if (pfn >= 0) {
    const removed = ops.unmapDirect(cpu, pfn);
    if (removed) ops.flushDirect(cpu, pfn);
    const bits = PB_UNMAPPED | (removed ? PB_UNMAPPED_LEAF : 0);
    setPfnblockFlagsMask(ctx.pageblock, pfn, bits, PB_UNMAPPED | PB_UNMAPPED_LEAF);
    ops.auditUnmapped(cpu, pfn);
  }
  ctx.lockdep.release(cpu, LOCK_CLASS_ASI_FLIP);
  return pfn;
}

/**
 * The free side: an unmapped block goes back into the direct map before
 * it can reach the free lists (a later ordinary allocation would find its
 * direct-map address faulting). Called with the block still allocated.
 */
export function restoreUnmapped(ctx: AllocCtx, cpu: number, pfn: number): void {
  if ((pageblockFlags(ctx.pageblock, pfn) & PB_UNMAPPED_LEAF) !== 0) ctx.unmappedOps?.restoreDirect(cpu, pfn);
  setPfnblockFlagsMask(ctx.pageblock, pfn, 0, PB_UNMAPPED | PB_UNMAPPED_LEAF);
}
