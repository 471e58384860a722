// Fixmap slots, as arch/x86 __set_fixmap() / clear_fixmap() over
// set_pte_vaddr() (arch/x86/mm/init_64.c) and fix_to_virt()
// (include/asm-generic/fixmap.h): compile-time kernel addresses counting
// down from FIXADDR_TOP, one 4 KiB page each, whose PTEs live in init_mm's
// page tables. Those tables are allocated once at boot (fixmapInit) and the
// kernel half of every PGD points at them (cloneKernelPgd), so a slot set on
// one CPU is present in every address space at once.
//
// Every PTE change is followed by flush_tlb_one_kernel() on this CPU only:
// set_pte_vaddr() does exactly that. Local is enough for a slot only its
// own CPU ever touches; under PTI "this CPU" still means every PCID it has
// run with (flush-kernel.ts).

import { INIT_MM, PTE_G, PTE_RW } from '../../../native-layout/bits.js';
import { MM_PGD, MM_STRIDE } from '../../../native-layout/fields.js';
import type { KernelCtx } from '../ctx.js';
import { flushTlbOneKernel } from '../tlb/flush-kernel.js';
import { mapPte, pteAlloc, unmapLeaf } from './pgtable.js';

const PAGE = 4096;
/** FIXADDR_TOP with the canonical sign extension stripped (0xffffffffff7ff000). */
export const FIXADDR_TOP = 0xffffff7ff000;
/** Slots this model provides: one PTE table's worth below FIXADDR_TOP. */
export const FIX_SLOTS = 256;

export class FixmapError extends Error {
  override name = 'FixmapError';
}

/** fix_to_virt(): slot idx's address. */
export function fixToVirt(idx: number): number {
  return FIXADDR_TOP - idx * PAGE;
}

function initPgd(k: KernelCtx): number {
  return k.mm[INIT_MM * MM_STRIDE + MM_PGD];
}

/**
 * Allocates the page tables down to the PTE table of the fixmap in init_mm,
 * as the kernel's static fixmap tables are there from boot. Call it before
 * any address space is created: their PGDs copy init_mm's kernel half.
 */
export function fixmapInit(k: KernelCtx): void {
  const w = pteAlloc(k.env, k.cpu, initPgd(k), fixToVirt(FIX_SLOTS - 1));
  if (w < 0) throw new FixmapError(`no memory for the fixmap page tables (${w})`);
}

/**
 * __set_fixmap(idx, pfn, PAGE_KERNEL): maps the slot (which must be clear)
 * to pfn. Global unless PTI is on: with PTI the kernel gives up global pages,
 * so every PCID caches its own copy.
 */
export function setFixmap(k: KernelCtx, idx: number, pfn: number): void {
  const va = fixToVirt(idx);
  const r = mapPte(k.env, k.cpu, initPgd(k), va, pfn, PTE_RW | (k.pti ? 0 : PTE_G));
  if (r < 0) throw new FixmapError(`CPU ${k.cpu}: fixmap slot ${idx} (va 0x${va.toString(16)}) could not be set (${r})`);
  flushTlbOneKernel(k, va);
}

/** clear_fixmap(idx): clears the slot and flushes it here. Returns the frame it mapped, or -1. */
export function clearFixmap(k: KernelCtx, idx: number): number {
  const va = fixToVirt(idx);
  const pfn = unmapLeaf(k.env, initPgd(k), va, k.ref);
  flushTlbOneKernel(k, va);
  return pfn < 0 ? -1 : pfn;
}
