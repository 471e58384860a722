// What a design module builds its policies from, beyond the built-in
// policies themselves (builtins.ts): the kernel operations a policy may
// compose (exported from the library, src/api.ts). Each is the emulated
// kernel's own function, so a user's policy pays the same simulated costs
// and meets the same oracle as ours.
//
// The ephemeral-map pieces give a design its own pages of each CPU's
// window in the mm-local region (src/kernel/ephmap/region.ts): pages
// [DESIGN_WINDOW_FIRST, DESIGN_WINDOW_FIRST + DESIGN_WINDOW_PAGES), between
// the ephmap's slots and the mermap's window, so a design's slots never
// alias a built-in map's. Their page tables exist from mm creation (a map
// never allocates), the mm's teardown clears them like the rest of the
// window, and the nonsensitive address space mirrors them (a copy through
// them does not exit ASI).

import { PTE_A, PTE_D, PTE_P, PTE_RW } from '../../../native-layout/bits.js';
import { C } from '../../../native-layout/counters.js';
import { CPU_LOADED_MM, MM_PGD, MM_STRIDE } from '../../../native-layout/fields.js';
import { setEntry } from '../../hw/ptstore.js';
import { PROT_NX, pteHi, pteLo } from '../../hw/pte.js';
import { INVPCID_ALL_NON_GLOBAL } from '../../hw/mmu.js';
import type { KernelCtx } from '../ctx.js';
import { EPHMAP_MAX_SLOTS, EPHMAP_SLOT_PAGES, MERMAP_FIRST, cpuWindowBase, windowPteWord } from '../ephmap/region.js';
import { SITE_FLUSH_DONE, SITE_PTE_WRITE, kernelPoint } from '../points.js';

const PAGE = 4096;
/** First window page left to designs (after the ephmap's largest K slots). */
export const DESIGN_WINDOW_FIRST = EPHMAP_MAX_SLOTS * EPHMAP_SLOT_PAGES;
/** Window pages left to designs (up to the mermap window). */
export const DESIGN_WINDOW_PAGES = MERMAP_FIRST - DESIGN_WINDOW_FIRST;

/** The mm this CPU has loaded (a process's, or a lazy kernel thread's borrowed one), or -1 (none, or switching). */
export function currentMm(k: KernelCtx): number {
  const mm = k.cpuState[k.cpuAt + CPU_LOADED_MM]!;
  return mm > 0 ? mm : -1;
}

/** Address of design page `page` (0 .. DESIGN_WINDOW_PAGES-1) of CPU cpu's window. */
export function designPageVa(cpu: number, page: number): number {
  return cpuWindowBase(cpu) + (DESIGN_WINDOW_FIRST + page) * PAGE;
}

function checkPage(page: number): void {
  if (!(Number.isInteger(page) && page >= 0 && page < DESIGN_WINDOW_PAGES)) {
    throw new RangeError(`design window page ${page} is invalid: use 0..${DESIGN_WINDOW_PAGES - 1}`);
  }
}

/**
 * Maps frame pfn read-write (NX, not global) at design page `page` of this
 * CPU's window in mm (the loaded mm, which must have the mm-local region:
 * a base variant with an ephemeral map). Returns the address. No flush:
 * a page that held another translation must have been flushed from this
 * CPU's TLB since it was cleared, or the new user may read the old frame.
 */
export function designPageMap(k: KernelCtx, mm: number, page: number, pfn: number): number {
  checkPage(page);
  const root = k.mm[mm * MM_STRIDE + MM_PGD]!;
  const w = windowPteWord(k, root, k.cpu, DESIGN_WINDOW_FIRST + page);
  setEntry(k.env.pt, k.env.seq, w, pteLo(pfn, PTE_P | PTE_RW | PTE_A | PTE_D), pteHi(pfn, PROT_NX));
  kernelPoint(SITE_PTE_WRITE);
  k.counters[k.countersAt + C.ephmapMaps] += 1;
  return designPageVa(k.cpu, page);
}

/** Clears design page `page` of this CPU's window in mm. TLBs may still hold it: flushing is the policy's job. */
export function designPageClear(k: KernelCtx, mm: number, page: number): void {
  checkPage(page);
  const root = k.mm[mm * MM_STRIDE + MM_PGD]!;
  setEntry(k.env.pt, k.env.seq, windowPteWord(k, root, k.cpu, DESIGN_WINDOW_FIRST + page), 0, 0);
  kernelPoint(SITE_PTE_WRITE);
}

/** INVLPG va on this CPU (current PCID, as the ephmap's put): counted as a local flush. */
export function flushLocalPage(k: KernelCtx, va: number): void {
  k.mmu.invlpg(va);
  k.counters[k.countersAt + C.flushesLocal] += 1;
  kernelPoint(SITE_FLUSH_DONE);
}

/**
 * INVPCID type 3 on this CPU: every non-global entry of every PCID (what
 * a lazy map's wrap needs when the CPU may have run its slots under
 * several PCIDs since the last wrap). Counted as a local full flush.
 */
export function flushLocalAllPcids(k: KernelCtx): void {
  k.mmu.invpcid(INVPCID_ALL_NON_GLOBAL, 0);
  k.counters[k.countersAt + C.flushesLocal] += 1;
  k.counters[k.countersAt + C.flushesFull] += 1;
  kernelPoint(SITE_FLUSH_DONE);
}
