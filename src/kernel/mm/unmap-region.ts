// do_vmi_munmap() + unmap_region() for a caller that already holds
// mmap_lock for write (mremap: the destination it replaces, the tail it
// drops when shrinking, the old range once its PTEs have moved).
//
// Page tables are freed as free_pgtables() does with its floor and ceiling:
// only PTE tables whose whole 2 MiB no remaining VMA overlaps. A table that
// a live file VMA still covers can be reached without mmap_lock by an rmap
// walker (truncation, reclaim: rmap.ts), so it must stay even when it is
// empty now; khugepaged retracts those under the locks that walker takes.

import { PTE_P, PTE_PS } from '../../../native-layout/bits.js';
import { clearEntry, ptSlotOf, readHi, readLo } from '../../hw/ptstore.js';
import { ptePfn } from '../../hw/pte.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';
import { tlbFinishMmu, tlbGatherMmu, tlbRemoveTable } from './gather.js';
import type { MmuGather } from './gather-state.js';
import { mmPgd, ptlAt } from './mm.js';
import { pmdEntryWord, pteTableIsEmpty } from './pmd.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { vmaOverlaps, vmaRemoveRange } from './vma.js';
import { PTRS_PER_PTE, zapPteRange } from './zap.js';
import { swWalkStep } from '../../check/sw-walk.js';
import { WALK_FREE_PGTABLES } from '../../check/walkers.js';

const PAGE = 4096;

/** Unmaps pages [start, end) of mm; mmap_lock is held for write. 0, or ENOMEM (a VMA split found no slot; nothing changed). */
export function unmapRegionLocked(k: KernelCtx, mm: number, start: number, end: number): number {
  const r = vmaRemoveRange(k, mm, start, end);
  if (r !== 0) return r;
  const g = tlbGatherMmu(k, mm, false);
  zapPteRange(k, g, mm, start, end);
  freeUnsharedPteTables(k, g, mm, start, end);
  tlbFinishMmu(k, g);
  return 0;
}



/**
 * free_pgtables() between floor and ceiling, at PTE-table granularity:
 * unlinks the empty PTE tables of the 2 MiB chunks under [start, end) that
 * no VMA overlaps any more, into g (freed after its flush, which reaches
 * lazy CPUs). Upper-level tables stay until exit.
 */
export function freeUnsharedPteTables(k: KernelCtx, g: MmuGather, mm: number, start: number, end: number): number {
  const root = mmPgd(k, mm);
  const pt = k.env.pt;
  let n = 0;
  for (let chunk = Math.floor(start / PTRS_PER_PTE); chunk * PTRS_PER_PTE < end; chunk++) {
    const lo = chunk * PTRS_PER_PTE;
    const hi = lo + PTRS_PER_PTE;
    if (vmaOverlaps(k, mm, lo, hi)) continue;
    const w = pmdEntryWord(k, root, lo * PAGE, WALK_FREE_PGTABLES, mm);
    if (w < 0) continue;
    const e = readLo(pt, w);
    if ((e & PTE_P) === 0 || (e & PTE_PS) !== 0) continue;
    const table = ptePfn(e, readHi(pt, w));
    // No VMA covers this 2 MiB any more, so no fault or zap under the mmap
    // lock walks into it; the table can only be freed by us.
    if (!swWalkStep(k, WALK_FREE_PGTABLES, mm, lo * PAGE, 1, table)) continue;
    const slot = ptSlotOf(k.frame, table);
    if (!pteTableIsEmpty(k, slot)) continue;
    // page_table_lock for the PMD entry; the table's own lock too, so that
    // an rmap walker that found the table and then took its lock sees it
    // unlinked when it walks again (rmap.ts lockPteOf).
    spinLock(k.mm, ptlAt(mm));
    pteLock(k, slot);
    clearEntry(pt, k.env.seq, w);
    pteUnlock(k, slot);
    spinUnlock(k.mm, ptlAt(mm));
    tlbRemoveTable(g, table, lo, hi);
    n++;
  }
  return n;
}
