// How read() copies a page-cache page: the one seam the ephemeral maps plug
// into (the ephmap/mermap variants replace the physmap copy with a map of
// the page into this CPU's slot of the mm's nonsensitive region).
//
// The physmap copy is what Linux does without an ephemeral map
// (copy_page_to_iter through the direct-map address of the page): under
// ASI the page is sensitive, so the read of its direct-map address faults
// in the nonsensitive space and exits ASI (shmem_file_read_iter's fallback
// path in the ephmap branch).

import type { KernelCtx } from '../ctx.js';
import { kernelReadPhysmap } from '../asi/access.js';

/** Copies the page-cache page pfn out (returns its content word). The caller holds a reference on the page. */
export type CopyFromPageCache = (k: KernelCtx, pfn: number) => number;

/** Through the direct map (exits ASI when the page is sensitive). */
export function copyFromPageCacheViaPhysmap(k: KernelCtx, pfn: number): number {
  return kernelReadPhysmap(k, pfn);
}
