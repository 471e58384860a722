// split_page() (mm/page_alloc.c): one allocated block becomes 2^order
// independent order-0 pages, each with its own reference, so each can be
// mapped, referenced and freed on its own. khugepaged's collapse uses it
// for the block it copies a range into (src/kernel/mm/collapse.ts): we map
// the result with PTEs, page by page, and zap frees it page by page.

import { FRAME_F_HEAD as FRAME_F_HEAD_, FRAME_F_TAIL as FRAME_F_TAIL_, FRAME_ORDER_MASK as FRAME_ORDER_MASK_ } from '../../../native-layout/bits.js';
import { FRAME_STRIDE as FRAME_STRIDE_, FR_FLAGS as FR_FLAGS_, FR_REFCOUNT as FR_REFCOUNT_ } from '../../../native-layout/fields.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const FRAME_F_HEAD = FRAME_F_HEAD_, FRAME_F_TAIL = FRAME_F_TAIL_, FRAME_ORDER_MASK = FRAME_ORDER_MASK_, FRAME_STRIDE = FRAME_STRIDE_,
  FR_FLAGS = FR_FLAGS_, FR_REFCOUNT = FR_REFCOUNT_;

/**
 * Turns the live allocation [pfn, pfn + 2^order) into 2^order order-0
 * allocations: every frame becomes a head of order 0 with refcount 1. The
 * caller owns the block (nobody else has seen it yet).
 */
export function splitPage(frame: Int32Array, pfn: number, order: number): void {
  const end = pfn + (1 << order);
  for (let p = pfn; p < end; p++) {
    const at = p * FRAME_STRIDE;
    frame[at + FR_FLAGS] = (frame[at + FR_FLAGS] & ~(FRAME_ORDER_MASK | FRAME_F_TAIL)) | FRAME_F_HEAD;
    frame[at + FR_REFCOUNT] = 1;
  }
}
