// What happens to the frames themselves on the way out of and back into the
// allocator: prep_new_page() and free_pages_prepare() with its bad_page()
// checks. The caller owns the frames here; no lock is held.

import {
  FRAME_F_HEAD as FRAME_F_HEAD_, FRAME_F_TAIL as FRAME_F_TAIL_, FRAME_F_ZEROED as FRAME_F_ZEROED_, FRAME_ORDER_MASK as FRAME_ORDER_MASK_,
  FRAME_ORDER_SHIFT as FRAME_ORDER_SHIFT_, FRAME_PCP_FT_SHIFT as FRAME_PCP_FT_SHIFT_, FRAME_STATE_MASK as FRAME_STATE_MASK_,
  FRAME_STATE_NAMES as FRAME_STATE_NAMES_, FS_ALLOCATED as FS_ALLOCATED_,
} from '../../../native-layout/bits.js';
import { C as C_ } from '../../../native-layout/counters.js';
import {
  COUNTERS_STRIDE as COUNTERS_STRIDE_, FRAME_STRIDE as FRAME_STRIDE_, FR_CONTENT as FR_CONTENT_, FR_CONTENT_GEN as FR_CONTENT_GEN_,
  FR_FLAGS as FR_FLAGS_, FR_NEXT as FR_NEXT_, FR_PREV as FR_PREV_, FR_PRIVATE as FR_PRIVATE_, FR_REFCOUNT as FR_REFCOUNT_,
} from '../../../native-layout/fields.js';
import type { AllocCtx } from './ctx.js';
import { __GFP_ZERO } from './gfp.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const FRAME_F_HEAD = FRAME_F_HEAD_, FRAME_F_TAIL = FRAME_F_TAIL_, FRAME_F_ZEROED = FRAME_F_ZEROED_, FRAME_ORDER_MASK = FRAME_ORDER_MASK_,
  FRAME_ORDER_SHIFT = FRAME_ORDER_SHIFT_, FRAME_PCP_FT_SHIFT = FRAME_PCP_FT_SHIFT_, FRAME_STATE_MASK = FRAME_STATE_MASK_,
  FRAME_STATE_NAMES = FRAME_STATE_NAMES_, FS_ALLOCATED = FS_ALLOCATED_, C = C_, COUNTERS_STRIDE = COUNTERS_STRIDE_, FRAME_STRIDE = FRAME_STRIDE_,
  FR_CONTENT = FR_CONTENT_, FR_CONTENT_GEN = FR_CONTENT_GEN_, FR_FLAGS = FR_FLAGS_, FR_NEXT = FR_NEXT_, FR_PREV = FR_PREV_,
  FR_PRIVATE = FR_PRIVATE_, FR_REFCOUNT = FR_REFCOUNT_;

const CNT_ZEROED_PAGES = C.zeroedPages;

/** bad_page(): freeing a frame that is not a live allocation of that order (double free, wrong order, stray pfn). */
export class BadPageError extends Error {
  override name = 'BadPageError';
  constructor(readonly pfn: number, readonly state: string, reason: string) {
    super(`bad page: pfn ${pfn} (state ${state}): ${reason}`);
  }
}

export function stateName(flags: number): string {
  return FRAME_STATE_NAMES[flags & FRAME_STATE_MASK] ?? `state${flags & FRAME_STATE_MASK}`;
}

/**
 * prep_new_page(): every frame becomes part of an allocation (head + tails,
 * order, the request's freetype), the head holds the one reference, and
 * __GFP_ZERO clears the contents. Without it the old contents stay, zeroed
 * flag and all: whether that leaks is for the oracle to judge.
 */
export function prepNewPage(ctx: AllocCtx, cpu: number, pfn: number, order: number, ft: number, gfp: number): void {
  const frame = ctx.frame;
  const zero = (gfp & __GFP_ZERO) !== 0;
  const common = FS_ALLOCATED | (order << FRAME_ORDER_SHIFT) | (ft << FRAME_PCP_FT_SHIFT);
  const n = 1 << order;
  let i = pfn * FRAME_STRIDE;
  for (let k = 0; k < n; k++, i += FRAME_STRIDE) {
    const zeroed = zero ? FRAME_F_ZEROED : frame[i + FR_FLAGS] & FRAME_F_ZEROED;
    frame[i + FR_FLAGS] = zeroed | common | (k === 0 ? FRAME_F_HEAD : FRAME_F_TAIL);
    frame[i + FR_NEXT] = -1;
    frame[i + FR_PREV] = -1;
    frame[i + FR_PRIVATE] = 0;
    frame[i + FR_REFCOUNT] = k === 0 ? 1 : 0;
    if (zero) frame[i + FR_CONTENT] = 0;
  }
  if (zero) ctx.counters[cpu * COUNTERS_STRIDE + CNT_ZEROED_PAGES] += n;
}

/** Throws unless [pfn, pfn + 2^order) is exactly one live allocation of that order. */
export function checkFreeable(ctx: AllocCtx, pfn: number, order: number): void {
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= ctx.frames) {
    throw new BadPageError(pfn, 'none', `pfn out of range 0..${ctx.frames - 1}`);
  }
  const flags = ctx.frame[pfn * FRAME_STRIDE + FR_FLAGS];
  // The state's name only on the way to an error: this runs on every free.
  if ((flags & FRAME_STATE_MASK) !== FS_ALLOCATED) {
    throw new BadPageError(pfn, stateName(flags), 'freed but not allocated (double free?)');
  }
  if ((flags & FRAME_F_HEAD) === 0) {
    throw new BadPageError(pfn, stateName(flags), 'freed but it is the tail of another allocation');
  }
  const allocOrder = (flags & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT;
  if (allocOrder !== order) {
    throw new BadPageError(pfn, stateName(flags), `freed as order ${order} but allocated as order ${allocOrder}`);
  }
}

/**
 * free_pages_prepare(): a new content generation for every frame, so a
 * stale translation still pointing here is told apart from the next owner's
 * data; references drop to zero.
 */
export function freePagesPrepare(ctx: AllocCtx, pfn: number, order: number): void {
  const frame = ctx.frame;
  const end = (pfn + (1 << order)) * FRAME_STRIDE;
  for (let i = pfn * FRAME_STRIDE; i < end; i += FRAME_STRIDE) {
    frame[i + FR_CONTENT_GEN] = (frame[i + FR_CONTENT_GEN] + 1) | 0;
    frame[i + FR_REFCOUNT] = 0;
  }
}
