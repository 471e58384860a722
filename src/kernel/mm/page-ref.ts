// References to user pages (get_page / put_page, reduced): frame.refcount
// counts the PTEs mapping the page (fork adds one per copied PTE). The page
// allocator sets 1 at allocation and 0 at free; the last put frees, and
// freeing bumps the frame's contentGen, which is what the stale-TLB oracle
// compares against.

import { FRAME_STRIDE, FR_REFCOUNT } from '../../../native-layout/fields.js';
import type { KernelCtx } from '../ctx.js';

export class PageRefError extends Error {
  override name = 'PageRefError';
}

export function getPage(k: KernelCtx, pfn: number): void {
  Atomics.add(k.frame, pfn * FRAME_STRIDE + FR_REFCOUNT, 1);
}

/**
 * get_page_unless_zero() / folio_try_get(): a reference on pfn unless its
 * count is zero (free, or being freed), for lockless lookups (gup.ts): the
 * count is only ever raised from above zero. Returns whether it took one.
 */
export function getPageUnlessZero(k: KernelCtx, pfn: number): boolean {
  const at = pfn * FRAME_STRIDE + FR_REFCOUNT;
  for (;;) {
    const c = Atomics.load(k.frame, at);
    if (c <= 0) return false;
    if (Atomics.compareExchange(k.frame, at, c, c + 1) === c) return true;
  }
}

export function pageRefcount(k: KernelCtx, pfn: number): number {
  return Atomics.load(k.frame, pfn * FRAME_STRIDE + FR_REFCOUNT);
}

/** put_page(): drops a reference; the last one frees the frame. */
export function putPage(k: KernelCtx, pfn: number): void {
  const old = Atomics.sub(k.frame, pfn * FRAME_STRIDE + FR_REFCOUNT, 1);
  if (old === 1) k.alloc.freePages(k.cpu, pfn, 0);
  else if (old <= 0) throw new PageRefError(`put_page on pfn ${pfn} with refcount ${old}`);
}
