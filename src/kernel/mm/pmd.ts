// The PMD level, for the paths that unlink whole PTE tables (khugepaged's
// retraction, free_pgtables for mremap/munmap): find the PMD entry of an
// address, and tell whether a PTE table maps nothing.

import { PTE_P, PTE_PS, PT_ENTRIES } from '../../../native-layout/bits.js';
import { entryWord, ptSlotOf, readHi, readLo } from '../../hw/ptstore.js';
import { ptIndex, ptePfn } from '../../hw/pte.js';
import type { KernelCtx } from '../ctx.js';
import { swWalkStep } from '../../check/sw-walk.js';

/**
 * Word index of the PMD entry covering va, or -1 if a level above is
 * missing (or maps a huge page). With a walker (src/check/walkers.ts), the
 * PUD and PMD tables stepped into are checked as live tables of mm.
 */
export function pmdEntryWord(k: KernelCtx, root: number, va: number, walker = 0, mm = -1): number {
  const pt = k.env.pt;
  let table = root;
  for (let level = 4; level > 2; level--) {
    const w = entryWord(ptSlotOf(k.frame, table), ptIndex(va, level));
    const lo = readLo(pt, w);
    if ((lo & PTE_P) === 0 || (lo & PTE_PS) !== 0) return -1;
    table = ptePfn(lo, readHi(pt, w));
    if (walker !== 0 && !swWalkStep(k, walker, mm, va, level - 1, table)) return -1;
  }
  return entryWord(ptSlotOf(k.frame, table), ptIndex(va, 2));
}

/** Does the PTE table in store slot `slot` hold no entry at all (both words zero)? */
export function pteTableIsEmpty(k: KernelCtx, slot: number): boolean {
  const pt = k.env.pt;
  for (let i = 0; i < PT_ENTRIES; i++) {
    const w = entryWord(slot, i);
    if (Atomics.load(pt, w) !== 0 || Atomics.load(pt, w + 1) !== 0) return false;
  }
  return true;
}
