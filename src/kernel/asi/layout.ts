// Kernel-half addresses the ASI code and the checks agree on (no imports of
// kernel code, so pgtable.ts can use them without a cycle).

import { ptIndex } from '../../hw/pte.js';

const PAGE = 4096;

/** PAGE_OFFSET with the canonical sign extension dropped (0xffff888000000000). */
export const DIRECT_MAP_BASE = 0x888000000000;
/** The PGD slot the direct map lives in (one 512 GiB slot holds all of an emulated machine's memory). */
export const DIRECT_MAP_PGD_INDEX = ptIndex(DIRECT_MAP_BASE, 4);

/** __va(pfn << 12): the direct-map address of a frame. */
export function physmapVa(pfn: number): number {
  return DIRECT_MAP_BASE + pfn * PAGE;
}
