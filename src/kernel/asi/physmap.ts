// The nonsensitive ("restricted") physmap of ASI: a second direct map that
// holds only the pageblocks whose freetype is nonsensitive, so that code
// running in the nonsensitive address space can reach kernel data that is
// not secret without leaving it. As Brendan Jackman's "mm: ASI direct map
// management" (asi_nonsensitive_pgd; set_direct_map_sensitive() in
// arch/x86/mm/pat/set_memory.c) and SEMANTICS.md §3/§6.
//
// Shape. One PGD slot (512 GiB, more than the 16 GiB the emulator can have)
// whose PUD table and PMD tables are allocated once, at boot, for every
// pageblock of memory. A pageblock (512 frames) is exactly one 2 MiB PMD
// leaf, so changing a block's sensitivity only writes or clears one PMD
// entry: it never splits a mapping and never allocates a page table. That is
// the RFC's answer to the "turtles" problem (a flip that needs a page table
// that needs a flip ...): with the tables pre-allocated, a flip can run
// anywhere allocation-wise.
//
// Sharing. Every address space that should see the physmap gets the same
// PGD entry (asiPhysmapCloneInto), pointing at the same PUD table, so a PMD
// written once is seen by every root at once, exactly as the kernel half of
// every PGD shares init_mm's tables (cloneKernelPgd). The PGD entry itself
// never changes after boot.
//
// Nothing here flushes. Mapping needs no flush (non-present entries are
// never cached); unmapping is followed by the caller's kernel-range
// shootdown (flip.ts), which is where the ordering races live.

import { INIT_MM, PTE_G, PTE_P, PTE_PS, PTE_RW, PT_ENTRIES } from '../../../native-layout/bits.js';
import { KERNEL_ASI_PHYSMAP_PUD, MM_PGD, MM_STRIDE } from '../../../native-layout/fields.js';
import { PAGEBLOCK_NR_PAGES } from '../../../native-layout/shape.js';
import { clearEntry, entryWord, ptSlotOf, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { LEVEL_SIZE, PROT_NX, ptIndex, pteHi, pteLo, ptePfn } from '../../hw/pte.js';
import type { KernelCtx } from '../ctx.js';
import { allocPgtablePage } from '../mm/pgtable.js';
import { SITE_PTE_WRITE, kernelPoint } from '../points.js';

/**
 * Start of the nonsensitive physmap, kernel half, canonical sign extension
 * stripped (0xffffc88000000000 in the kernel's spelling). It is PGD slot
 * 401, the one-slot hole of the x86-64 4-level layout
 * (Documentation/arch/x86/x86_64/mm.rst: "0xffffc88000000000 ..
 * 0xffffc8ffffffffff unused hole", between the direct map's slot range that
 * starts at 0xffff888000000000 = slot 273, and vmalloc at slot 402). Nothing
 * else of ours uses it: the ordinary direct map (0x888000000000) is slot
 * 273 and the fixmap is slot 511. A separate slot, rather than the direct
 * map's own addresses in a second PGD, lets one root hold both maps, so a
 * scenario can run it without the ASI address space and the oracle can tell
 * a physmap translation by its address alone.
 */
export const ASI_PHYSMAP_BASE = 0xc88000000000;
/** Bytes the physmap can cover (one PGD entry). */
export const ASI_PHYSMAP_SPAN = LEVEL_SIZE[4]!;
/** The PGD index of the physmap. */
export const ASI_PHYSMAP_PGD_INDEX = ptIndex(ASI_PHYSMAP_BASE, 4);

const PAGE = 4096;
const PMD_FRAMES = 512;
const FRAMES_PER_PMD_TABLE = PMD_FRAMES * PT_ENTRIES;

export class AsiPhysmapError extends Error {
  override name = 'AsiPhysmapError';
}

/** asi_physmap va of pfn (its frame in the nonsensitive physmap, mapped or not). */
export function asiPhysmapVa(pfn: number): number {
  return ASI_PHYSMAP_BASE + pfn * PAGE;
}

/** The physmap's PUD table pfn, or -1 when the machine booted without ASI. */
export function asiPhysmapPud(kernel: Int32Array): number {
  return kernel[KERNEL_ASI_PHYSMAP_PUD]! - 1;
}

/** Whether this machine has a nonsensitive physmap (ASI on). */
export function asiEnabled(kernel: Int32Array): boolean {
  return Atomics.load(kernel, KERNEL_ASI_PHYSMAP_PUD) !== 0;
}

/**
 * Word index (ptStore) of the PMD entry that maps pageblock pfn, found by
 * table walk from the PUD (no PSC, no TLB: the kernel's own lookup).
 * Throws AsiPhysmapError when the machine has no physmap or pfn is outside
 * memory: both are kernel bugs, never user input.
 */
export function asiPhysmapPmdWord(k: KernelCtx, pfn: number): number {
  const pud = asiPhysmapPud(k.kernel);
  if (pud < 0) throw new AsiPhysmapError(`CPU ${k.cpu}: no nonsensitive physmap (machine booted without ASI)`);
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= k.env.frames) {
    throw new AsiPhysmapError(`CPU ${k.cpu}: pfn ${pfn} is outside memory 0..${k.env.frames - 1}`);
  }
  const va = asiPhysmapVa(pfn);
  const pt = k.env.pt;
  const wPud = entryWord(ptSlotOf(k.frame, pud), ptIndex(va, 3));
  const lo = readLo(pt, wPud);
  if ((lo & PTE_P) === 0) throw new AsiPhysmapError(`physmap PUD entry for pfn ${pfn} is missing (tables not pre-allocated)`);
  const pmdTable = ptePfn(lo, readHi(pt, wPud));
  return entryWord(ptSlotOf(k.frame, pmdTable), ptIndex(va, 2));
}

/**
 * asi_nonsensitive_pgd set-up at boot: the PUD table and one PMD table per
 * GiB of memory, all empty (every block starts sensitive, PB_nonsensitive
 * clear), the PGD entry installed in init_mm so every PGD cloned from it
 * later (cloneKernelPgd) carries the physmap. Marks ASI on for the machine.
 * Run on one thread, before any CPU runs and before any mm other than
 * init_mm exists. Throws AsiPhysmapError when memory for the tables is short.
 */
export function asiPhysmapInit(k: KernelCtx): void {
  if (asiPhysmapPud(k.kernel) >= 0) throw new AsiPhysmapError('asiPhysmapInit ran twice');
  const pud = allocPgtablePage(k.env, k.cpu);
  if (pud < 0) throw new AsiPhysmapError(`no memory for the physmap PUD table (${pud})`);
  const pt = k.env.pt;
  const pudSlot = ptSlotOf(k.frame, pud);
  const tables = Math.ceil(k.env.frames / FRAMES_PER_PMD_TABLE);
  for (let i = 0; i < tables; i++) {
    const pmd = allocPgtablePage(k.env, k.cpu);
    if (pmd < 0) throw new AsiPhysmapError(`no memory for physmap PMD table ${i} (${pmd})`);
    const w = entryWord(pudSlot, ptIndex(ASI_PHYSMAP_BASE + i * LEVEL_SIZE[3]!, 3));
    setEntry(pt, k.env.seq, w, pteLo(pmd, PTE_P | PTE_RW), pteHi(pmd, 0));
  }
  Atomics.store(k.kernel, KERNEL_ASI_PHYSMAP_PUD, pud + 1);
  asiPhysmapCloneInto(k, k.mm[INIT_MM * MM_STRIDE + MM_PGD]!);
}

/**
 * Installs the physmap's PGD entry in root (a PGD page). The PUD and PMD
 * tables below are shared, so later flips are seen through every root.
 * Idempotent.
 */
export function asiPhysmapCloneInto(k: KernelCtx, root: number): void {
  const pud = asiPhysmapPud(k.kernel);
  if (pud < 0) throw new AsiPhysmapError(`CPU ${k.cpu}: no nonsensitive physmap to clone (machine booted without ASI)`);
  const w = entryWord(ptSlotOf(k.frame, root), ASI_PHYSMAP_PGD_INDEX);
  setEntry(k.env.pt, k.env.seq, w, pteLo(pud, PTE_P | PTE_RW), pteHi(pud, 0));
}

function checkBlock(k: KernelCtx, pfn: number): void {
  if (pfn % PAGEBLOCK_NR_PAGES !== 0) {
    throw new AsiPhysmapError(`CPU ${k.cpu}: pfn ${pfn} is not pageblock-aligned (set_direct_map_sensitive refuses it)`);
  }
}

/**
 * Maps pageblock pfn (aligned) into the physmap with one 2 MiB leaf:
 * present, writable, not executable, global unless PTI is on (as every
 * kernel mapping here). The caller zeroed the block first (flip.ts).
 */
export function asiPhysmapMapBlock(k: KernelCtx, pageblockPfn: number): void {
  checkBlock(k, pageblockPfn);
  const w = asiPhysmapPmdWord(k, pageblockPfn);
  const prot = PTE_P | PTE_PS | PTE_RW | PROT_NX | (k.pti ? 0 : PTE_G);
  setEntry(k.env.pt, k.env.seq, w, pteLo(pageblockPfn, prot), pteHi(pageblockPfn, prot));
  kernelPoint(SITE_PTE_WRITE);
}

/**
 * Clears pageblock pfn's 2 MiB leaf. TLBs may still hold it: the caller
 * must complete a kernel-range shootdown before the block is used as
 * sensitive memory.
 */
export function asiPhysmapUnmapBlock(k: KernelCtx, pageblockPfn: number): void {
  checkBlock(k, pageblockPfn);
  clearEntry(k.env.pt, k.env.seq, asiPhysmapPmdWord(k, pageblockPfn));
  kernelPoint(SITE_PTE_WRITE);
}

/**
 * direct_map_sensitive() inverted: is pageblock pfn mapped in the physmap
 * now? A plain read of one PMD entry (the cheap half of the mapping check).
 */
export function asiPhysmapBlockMapped(k: KernelCtx, pfn: number): boolean {
  return (readLo(k.env.pt, asiPhysmapPmdWord(k, pfn - (pfn % PAGEBLOCK_NR_PAGES))) & PTE_P) !== 0;
}
