// The mm-local kernel region (the x86 "LDT remap" PGD slot that the ASI
// branch's ephmap and the 2026 mermap live in: bjackman/linux
// mm/ephmap.c ephmap_setup(), mm/mermap.c mermap_mm_prepare()). Unlike the
// rest of the kernel half it is NOT shared with init_mm: the PGD entry is
// the mm's own, so a translation here exists only in this mm's address
// spaces (and, once ASI exists, in the nonsensitive PGD that mirrors the
// mm's PGD entries: src/kernel/asi/mirror.ts). Its PTEs are never global, so every entry a
// CPU caches is tagged with the PCID it ran this mm under.
//
// Layout: CPU c owns the 2 MiB window at MM_LOCAL_BASE + c * 2 MiB (one
// PTE table). Pages [0, EPHMAP_SLOT_PAGES * K) hold the ephmap's K slots;
// pages [MERMAP_FIRST, MERMAP_FIRST + MERMAP_PAGES) the mermap window, the
// last of which is the reserved page.
//
// Every CPU's tables are allocated when the mm is created
// (mmLocalRegionSetup, called by mm_alloc), so an ephmap or mermap get never
// allocates: it may run where the allocator may not be re-entered (the
// allocator's own zeroing path uses the mermap in the 2026 series). The
// mermap window is filled with non-present sentinel PTEs from the start, as
// mermap_mm_prepare() does: table walkers that free empty tables leave it.

import { PTE_A, PTE_G, PT_ENTRIES } from '../../../native-layout/bits.js';
import { EPHEM_STRIDE, KERNEL_MM_LOCAL_REGION, MM_LOCAL_REGION, MM_PGD, MM_STRIDE } from '../../../native-layout/fields.js';
import { readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { PROT_NX, pteHi, pteLo } from '../../hw/pte.js';
import type { KernelCtx } from '../ctx.js';
import { ENOMEM, freePgtables, pteAlloc } from '../mm/pgtable.js';

const PAGE = 4096;
/** PGD index of the mm-local region: slot -240 of 512, PTI's LDT remap slot. */
export const MM_LOCAL_PGD_SLOT = PT_ENTRIES - 240;
/** First byte of the region (48-bit, sign extension stripped). */
export const MM_LOCAL_BASE = MM_LOCAL_PGD_SLOT * 2 ** 39;
/** One PTE table per CPU. */
export const CPU_WINDOW_PAGES = 512;
const CPU_WINDOW_BYTES = CPU_WINDOW_PAGES * PAGE;
/** Pages one ephmap slot can map (a 64-page folio at most: enough to exercise the 33-page flush ceiling). */
export const EPHMAP_SLOT_PAGES = 64;
/** Ephmap slots per (mm, CPU) at most (K = 1 as posted, 2 for copy-on-write). */
export const EPHMAP_MAX_SLOTS = 2;
/** First page of the mermap window in a CPU's window. */
export const MERMAP_FIRST = 256;
/** Pages of the mermap window, the reserved page (the last) included. Small, so wraps are frequent. */
export const MERMAP_PAGES = 16;

/**
 * The sentinel a put leaves (mermap's set_unmapped_pte: PAGE_NONE, pfn 0,
 * NX): not present, so no walker or TLB ever uses it, but not none, so a
 * table walker that frees empty tables keeps the table.
 */
export const SENTINEL_LO = pteLo(0, PTE_G | PTE_A);
export const SENTINEL_HI = pteHi(0, PROT_NX);

/** First byte of CPU c's window. */
export function cpuWindowBase(cpu: number): number {
  return MM_LOCAL_BASE + cpu * CPU_WINDOW_BYTES;
}

/** Where (mm, cpu)'s record starts in the ephem region. */
export function ephemAt(k: KernelCtx, mm: number, cpu: number): number {
  return (mm * k.cpus + cpu) * EPHEM_STRIDE;
}

/** Which CPU's window va lies in, or -1 outside the region. */
export function windowCpuOf(va: number, cpus: number): number {
  if (va < MM_LOCAL_BASE) return -1;
  const c = Math.floor((va - MM_LOCAL_BASE) / CPU_WINDOW_BYTES);
  return c < cpus ? c : -1;
}

/** Whether va lies in the mm-local region of a machine with cpus CPUs. */
export function inMmLocalRegion(va: number, cpus: number): boolean {
  return va >= MM_LOCAL_BASE && va < MM_LOCAL_BASE + cpus * CPU_WINDOW_BYTES;
}

/** Whether new mms get the region (a scenario that uses the ephmap or mermap turns it on at boot). */
export function mmLocalRegionEnabled(k: KernelCtx): boolean {
  return Atomics.load(k.kernel, KERNEL_MM_LOCAL_REGION) !== 0;
}

/** Turns the region on for every mm created from now on (boot time, before any process exists). */
export function enableMmLocalRegion(k: KernelCtx): void {
  Atomics.store(k.kernel, KERNEL_MM_LOCAL_REGION, 1);
}

/** Word index of the PTE of page `page` in CPU c's window of the mm whose PGD is root (tables must exist). */
export function windowPteWord(k: KernelCtx, root: number, cpu: number, page: number): number {
  const w = pteAlloc(k.env, k.cpu, root, cpuWindowBase(cpu));
  // The tables exist from mm creation: a get that would allocate here is a
  // broken set-up, not an allocation failure to recover from.
  if (w < 0) throw new Error(`mm-local region of PGD ${root}: CPU ${cpu}'s window has no page table (${w})`);
  return w + page * 2;
}

/**
 * ephmap_setup() + mermap_mm_prepare() at mm creation: the tables for
 * every CPU's window, and sentinels over every mermap window. Returns 0 or
 * ENOMEM (the caller frees the PGD, which takes the partial tables with it
 * through mmLocalRegionTeardown).
 */
export function mmLocalRegionSetup(k: KernelCtx, mm: number): number {
  const root = k.mm[mm * MM_STRIDE + MM_PGD];
  // Set first: a partial set-up is torn down like a whole one.
  k.mm[mm * MM_STRIDE + MM_LOCAL_REGION] = 1;
  // A recycled mm record starts with empty windows (mermap_cpu is zeroed).
  k.views.ephem.fill(0, ephemAt(k, mm, 0), ephemAt(k, mm, k.cpus));
  for (let c = 0; c < k.cpus; c++) {
    const w = pteAlloc(k.env, k.cpu, root, cpuWindowBase(c));
    if (w < 0) return ENOMEM;
    for (let p = 0; p < MERMAP_PAGES; p++) setEntry(k.env.pt, k.env.seq, w + (MERMAP_FIRST + p) * 2, SENTINEL_LO, SENTINEL_HI);
  }
  return 0;
}

/**
 * The region's part of mm teardown (mermap_mm_teardown + the ephmap's
 * mmu_gather free), at the last mm_count: no CPU has this PGD in CR3 any
 * more (each one that had held a count), and a CPU that still caches
 * entries or table pointers under one of the mm's old PCIDs drops them
 * when that ASID is reused by another ctx_id, exactly as for the PGD page
 * itself. Clears the sentinels, then frees every table below the slot.
 */
export function mmLocalRegionTeardown(k: KernelCtx, mm: number, root: number): void {
  if (k.mm[mm * MM_STRIDE + MM_LOCAL_REGION] === 0) return;
  const pt = k.env.pt;
  for (let c = 0; c < k.cpus; c++) {
    // The window is 2 MiB-aligned: its PTE table's entries are w .. w + 1022.
    const w = pteAlloc(k.env, k.cpu, root, cpuWindowBase(c));
    if (w < 0) continue;
    for (let i = 0; i < PT_ENTRIES; i++) {
      const e = w + i * 2;
      if (readLo(pt, e) !== 0 || readHi(pt, e) !== 0) setEntry(pt, k.env.seq, e, 0, 0);
    }
  }
  freePgtables(k.env, k.cpu, root, MM_LOCAL_BASE, MM_LOCAL_BASE + 2 ** 39);
  k.mm[mm * MM_STRIDE + MM_LOCAL_REGION] = 0;
}

