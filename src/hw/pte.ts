// Encoding of x86-64 paging-structure entries as (lo, hi) 32-bit words, bit
// positions as in native-layout/bits.ts (the architectural ones).
//
// A "prot" word carries every non-address bit of an entry in one 32-bit
// number: the lo-word flags at bits 0..11 and the hi-word bits 20..31
// (software bits 52..58 and NX) at their hi-word positions. The two ranges do
// not overlap and neither uses the address field, so prot = flags of lo | flags
// of hi, and an entry is (pfn, prot).

import {
  PTE_FLAGS_MASK_LO as PTE_FLAGS_MASK_LO_, PTE_HI_NX as PTE_HI_NX_, PTE_HI_PFN_MASK as PTE_HI_PFN_MASK_, PTE_HI_SW_MASK as PTE_HI_SW_MASK_,
} from '../../native-layout/bits.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const PTE_FLAGS_MASK_LO = PTE_FLAGS_MASK_LO_, PTE_HI_NX = PTE_HI_NX_, PTE_HI_PFN_MASK = PTE_HI_PFN_MASK_, PTE_HI_SW_MASK = PTE_HI_SW_MASK_;

export const PROT_LO_MASK = PTE_FLAGS_MASK_LO;
export const PROT_HI_MASK = PTE_HI_SW_MASK | PTE_HI_NX;
/** NX as a prot bit (same position as in the hi word). */
export const PROT_NX = PTE_HI_NX;

const PFN_LO_BITS = 20;
const PFN_LO_SPAN = 1 << PFN_LO_BITS; // 2^20: pfn bits 0..19 live in lo, 20..39 in hi

export function pteLo(pfn: number, prot: number): number {
  return ((pfn & (PFN_LO_SPAN - 1)) << 12) | (prot & PROT_LO_MASK);
}

export function pteHi(pfn: number, prot: number): number {
  return (Math.floor(pfn / PFN_LO_SPAN) & PTE_HI_PFN_MASK) | (prot & PROT_HI_MASK);
}

export function ptePfn(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & PTE_HI_PFN_MASK) * PFN_LO_SPAN;
}

export function pteProt(lo: number, hi: number): number {
  return (lo & PROT_LO_MASK) | (hi & PROT_HI_MASK);
}

// ---- virtual addresses -------------------------------------------------------
// A va is a non-negative number below 2^48 (canonical sign extension
// stripped). Numbers are exact to 2^53, so divisions by powers of two are
// exact and `x & 511` (ToInt32, modulo 2^32) keeps the low bits; no BigInt.

export const VA_BITS = 48;
export const VA_LIMIT = 2 ** VA_BITS;
/** Kernel half of the address space (the canonical upper half, stripped). */
export const KERNEL_HALF = 2 ** 47;
/** Bytes mapped by one entry at each level (index = level; 0 unused). */
export const LEVEL_SIZE: readonly number[] = [0, 2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39];
/** 4 KiB frames covered by one leaf at each level. */
export const LEVEL_FRAMES: readonly number[] = [0, 1, 2 ** 9, 2 ** 18, 2 ** 27];

export function ptIndex(va: number, level: number): number {
  return (va / LEVEL_SIZE[level]!) & 511;
}
