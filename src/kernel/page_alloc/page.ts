// struct page accessors for the frame record: state, order and freetype tag
// packed in frame.flags (native-layout/bits.ts). A free buddy block is its
// head frame (FS_FREE_HEAD, "PageBuddy" with buddy_order) followed by
// FS_FREE_TAIL frames; only heads ever change during split and merge.

import {
  FRAME_F_ZEROED as FRAME_F_ZEROED_, FRAME_ORDER_MASK as FRAME_ORDER_MASK_, FRAME_ORDER_SHIFT as FRAME_ORDER_SHIFT_,
  FRAME_PCP_FT_MASK as FRAME_PCP_FT_MASK_, FRAME_PCP_FT_SHIFT as FRAME_PCP_FT_SHIFT_, FS_ALLOCATED as FS_ALLOCATED_, FS_FREE_HEAD as FS_FREE_HEAD_,
  FS_FREE_TAIL as FS_FREE_TAIL_,
} from '../../../native-layout/bits.js';
import { FRAME_STRIDE as FRAME_STRIDE_, FR_FLAGS as FR_FLAGS_ } from '../../../native-layout/fields.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const FRAME_F_ZEROED = FRAME_F_ZEROED_, FRAME_ORDER_MASK = FRAME_ORDER_MASK_, FRAME_ORDER_SHIFT = FRAME_ORDER_SHIFT_,
  FRAME_PCP_FT_MASK = FRAME_PCP_FT_MASK_, FRAME_PCP_FT_SHIFT = FRAME_PCP_FT_SHIFT_, FS_ALLOCATED = FS_ALLOCATED_, FS_FREE_HEAD = FS_FREE_HEAD_,
  FS_FREE_TAIL = FS_FREE_TAIL_, FRAME_STRIDE = FRAME_STRIDE_, FR_FLAGS = FR_FLAGS_;

export function pageOrder(frame: Int32Array, pfn: number): number {
  return (frame[pfn * FRAME_STRIDE + FR_FLAGS] & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT;
}

export function pageFreetype(frame: Int32Array, pfn: number): number {
  return (frame[pfn * FRAME_STRIDE + FR_FLAGS] & FRAME_PCP_FT_MASK) >> FRAME_PCP_FT_SHIFT;
}

/** set_buddy_order() + __SetPageBuddy(): the frame heads a free block on list (order, ft). */
export function setBuddyOrder(frame: Int32Array, pfn: number, order: number, ft: number): void {
  const i = pfn * FRAME_STRIDE + FR_FLAGS;
  frame[i] = (frame[i] & FRAME_F_ZEROED) | FS_FREE_HEAD | (order << FRAME_ORDER_SHIFT) | (ft << FRAME_PCP_FT_SHIFT);
}

export function setFreeTail(frame: Int32Array, pfn: number): void {
  const i = pfn * FRAME_STRIDE + FR_FLAGS;
  frame[i] = (frame[i] & FRAME_F_ZEROED) | FS_FREE_TAIL;
}

/** Marks the tails of [pfn, pfn + 2^order) free tails (the head is set by the caller). */
export function setFreeTails(frame: Int32Array, pfn: number, order: number): void {
  const end = (pfn + (1 << order)) * FRAME_STRIDE;
  for (let i = (pfn + 1) * FRAME_STRIDE + FR_FLAGS; i < end; i += FRAME_STRIDE) {
    frame[i] = (frame[i] & FRAME_F_ZEROED) | FS_FREE_TAIL;
  }
}

/**
 * __ClearPageBuddy() on a block leaving the free lists. Must happen under the
 * zone lock: a CPU freeing the buddy checks for FS_FREE_HEAD under that lock
 * and would otherwise merge with a block that is being handed out. The
 * caller gives the block its final state (pcp or allocated) afterwards.
 */
export function clearPageBuddy(frame: Int32Array, pfn: number, order: number): void {
  const i = pfn * FRAME_STRIDE + FR_FLAGS;
  frame[i] = (frame[i] & FRAME_F_ZEROED) | FS_ALLOCATED | (order << FRAME_ORDER_SHIFT);
}
