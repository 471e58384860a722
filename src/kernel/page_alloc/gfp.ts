// GFP flags and the internal ALLOC_* flags derived from them, as
// include/linux/gfp_types.h and mm/internal.h. Bit values follow the kernel's
// where it matters (the mobility bits sit at 3..4 so gfp_migratetype is a
// shift); the rest only need to be distinct.

import {
  MIGRATE_MOVABLE as MIGRATE_MOVABLE_, MIGRATE_RECLAIMABLE as MIGRATE_RECLAIMABLE_, MIGRATE_TYPES as MIGRATE_TYPES_,
} from '../../../native-layout/bits.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MIGRATE_MOVABLE = MIGRATE_MOVABLE_, MIGRATE_RECLAIMABLE = MIGRATE_RECLAIMABLE_, MIGRATE_TYPES = MIGRATE_TYPES_;

export const __GFP_DMA = 0x01;
export const __GFP_MOVABLE = 0x08;
export const __GFP_RECLAIMABLE = 0x10;
/** May dip into half of the min reserve (ALLOC_MIN_RESERVE). */
export const __GFP_HIGH = 0x20;
export const __GFP_IO = 0x40;
export const __GFP_FS = 0x80;
/** Return zeroed frames. */
export const __GFP_ZERO = 0x100;
/** May sleep and reclaim; without it the request is non-blocking (ALLOC_NON_BLOCK). */
export const __GFP_DIRECT_RECLAIM = 0x400;
export const __GFP_KSWAPD_RECLAIM = 0x800;
export const __GFP_NOWARN = 0x2000;
/** Ignore watermarks entirely (ALLOC_NO_WATERMARKS): reclaim itself, and test set-ups that must empty the zone. */
export const __GFP_MEMALLOC = 0x20000;
export const __GFP_NOMEMALLOC = 0x80000;
export const __GFP_HARDWALL = 0x100000;
/**
 * ASI: the memory may hold secrets and must stay out of the restricted
 * physmap. Part of user allocations (SEMANTICS.md §3). Without ASI enabled
 * every request is served from the sensitive lane.
 */
export const __GFP_SENSITIVE = 0x4000000;

/**
 * The memory must be absent from every direct map (the 2026 series'
 * __GFP_UNMAPPED / ALLOC_UNMAPPED; FREETYPE_UNMAPPED blocks). Unmovable
 * only. In this model an unmapped allocation is one whole pageblock
 * (page_alloc/unmapped.ts).
 */
export const __GFP_UNMAPPED = 0x8000000;

export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;

export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL | __GFP_SENSITIVE;
export const GFP_HIGHUSER = GFP_USER;
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;
/** Page-table pages: kernel memory, unmovable, zeroed (GFP_PGTABLE_KERNEL). */
export const GFP_PGTABLE = GFP_KERNEL | __GFP_ZERO;

/** An unmapped allocation that may block (the flip waits for a shootdown). */
export const GFP_UNMAPPED = GFP_KERNEL | __GFP_UNMAPPED;

export const GFP_MOVABLE_MASK = __GFP_RECLAIMABLE | __GFP_MOVABLE;
export const GFP_MOVABLE_SHIFT = 3;

// The shift must land the mobility bits on the migratetype numbers.
if ((__GFP_MOVABLE >> GFP_MOVABLE_SHIFT) !== MIGRATE_MOVABLE
  || (__GFP_RECLAIMABLE >> GFP_MOVABLE_SHIFT) !== MIGRATE_RECLAIMABLE) {
  throw new Error('gfp.ts: mobility bits do not match the migratetype numbers');
}

export class GfpError extends RangeError {
  override name = 'GfpError';
}

/** gfp_migratetype(): which free lists a request prefers. */
export function gfpMigratetype(gfp: number): number {
  const mt = (gfp & GFP_MOVABLE_MASK) >> GFP_MOVABLE_SHIFT;
  if (mt > MIGRATE_RECLAIMABLE) {
    // Both bits would index MIGRATE_HIGHATOMIC, which no request may name.
    throw new GfpError(`gfp 0x${gfp.toString(16)} sets both __GFP_MOVABLE and __GFP_RECLAIMABLE: use at most one`);
  }
  return mt;
}

/**
 * gfp_freetype(): the migratetype plus the sensitivity lane. A request is
 * nonsensitive only with ASI on and no __GFP_SENSITIVE; with ASI off every
 * request uses the sensitive lane, which is the boot state of every block.
 */
export function gfpFreetype(gfp: number, asi: boolean): number {
  const mt = gfpMigratetype(gfp);
  return asi && (gfp & __GFP_SENSITIVE) === 0 ? mt + MIGRATE_TYPES : mt;
}

// ---- internal allocation flags (mm/internal.h) ----------------------------
export const ALLOC_NO_WATERMARKS = 0x04;
/** __GFP_HIGH: half of the min reserve is usable. */
export const ALLOC_MIN_RESERVE = 0x08;
export const ALLOC_OOM = 0x10;
/** The caller cannot sleep: a further quarter of the reserve, and no sensitivity flips (ASI). */
export const ALLOC_NON_BLOCK = 0x20;
export const ALLOC_KSWAPD = 0x40;
/** High-order non-blocking request that may use (and reserve) MIGRATE_HIGHATOMIC blocks. */
export const ALLOC_HIGHATOMIC = 0x200;
/** Claim only whole pageblocks and never steal (not set by this zone; kept for parametric tests). */
export const ALLOC_NOFRAGMENT = 0x100;

/** gfp_to_alloc_flags(), coarse: one zone, no cpusets, no CMA. */
export function gfpToAllocFlags(gfp: number, order: number): number {
  let flags = 0;
  if (gfp & __GFP_HIGH) flags |= ALLOC_MIN_RESERVE;
  if (gfp & __GFP_KSWAPD_RECLAIM) flags |= ALLOC_KSWAPD;
  if ((gfp & __GFP_DIRECT_RECLAIM) === 0 && (gfp & __GFP_NOMEMALLOC) === 0) {
    flags |= ALLOC_NON_BLOCK;
    if (order > 0 && (flags & ALLOC_MIN_RESERVE) !== 0) flags |= ALLOC_HIGHATOMIC;
  }
  if ((gfp & __GFP_MEMALLOC) !== 0 && (gfp & __GFP_NOMEMALLOC) === 0) flags |= ALLOC_NO_WATERMARKS;
  return flags;
}
