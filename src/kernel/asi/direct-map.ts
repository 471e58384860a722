// The ordinary direct map (physmap): every frame of memory at
// DIRECT_MAP_BASE + pfn * 4 KiB in init_mm's kernel half, as
// arch/x86/mm/init_64.c kernel_physical_mapping_init() builds it with large
// pages. Every PGD shares its tables (cloneKernelPgd), except the
// nonsensitive ASI PGDs, which leave its PGD entry out: that absence is what
// makes a kernel access to sensitive data from the nonsensitive space a real
// page fault through the walker (src/kernel/asi/access.ts).
//
// Global unless ASI is on: the ASI series turns global kernel pages off, or
// an entry filled in the sensitive space would survive the CR3 write into the
// nonsensitive one and translate the direct map there.

import { INIT_MM, PTE_G, PTE_NOGEN, PTE_RW } from '../../../native-layout/bits.js';
import { MM_PGD, MM_STRIDE } from '../../../native-layout/fields.js';
import { physmapVa } from './layout.js';
import type { KernelCtx } from '../ctx.js';
import { mapPmd, mapPte, mapPud } from '../mm/pgtable.js';

const PMD_FRAMES = 512;
const PUD_FRAMES = 512 * 512;

/**
 * Leaf size the direct map is built with (a boot option, issue 8):
 * '2m' as before; '1g' as kernel_physical_mapping_init() with gbpages,
 * 1 GiB leaves for every whole GiB of memory (2 MiB, then 4 KiB, below
 * that); '4k' every frame its own PTE (rodata=full / debug_pagealloc's
 * shape, answer (iii) of the guest_memfd recursion problem).
 */
export type DirectMapLeaves = '1g' | '2m' | '4k';
export const DIRECT_MAP_LEAVES: readonly DirectMapLeaves[] = ['1g', '2m', '4k'];

export { DIRECT_MAP_BASE, DIRECT_MAP_PGD_INDEX, physmapVa } from './layout.js';

export class DirectMapError extends Error {
  override name = 'DirectMapError';
}

/**
 * Maps every frame into init_mm's direct map: 2 MiB leaves, 4 KiB PTEs for
 * a tail shorter than 2 MiB. Call at boot, before any mm is created (a new
 * PGD copies init_mm's kernel-half entries once). `global`: PTE_G on the
 * leaves (false under ASI). Throws DirectMapError when a table cannot be
 * allocated.
 */
export function directMapInit(k: KernelCtx, global: boolean, leaves: DirectMapLeaves = '2m'): void {
  const root = k.mm[INIT_MM * MM_STRIDE + MM_PGD];
  const frames = k.mem.layout.frames;
  const prot = PTE_RW | PTE_NOGEN | (global ? PTE_G : 0);
  let pfn = 0;
  for (; leaves === '1g' && pfn + PUD_FRAMES <= frames; pfn += PUD_FRAMES) {
    const r = mapPud(k.env, k.cpu, root, physmapVa(pfn), pfn, prot);
    if (r < 0) throw new DirectMapError(`direct map: 1 GiB leaf at pfn ${pfn} failed (${r})`);
  }
  for (; leaves !== '4k' && pfn + PMD_FRAMES <= frames; pfn += PMD_FRAMES) {
    const r = mapPmd(k.env, k.cpu, root, physmapVa(pfn), pfn, prot);
    if (r < 0) throw new DirectMapError(`direct map: 2 MiB leaf at pfn ${pfn} failed (${r})`);
  }
  for (; pfn < frames; pfn++) {
    const r = mapPte(k.env, k.cpu, root, physmapVa(pfn), pfn, prot);
    if (r < 0) throw new DirectMapError(`direct map: PTE at pfn ${pfn} failed (${r})`);
  }
}
