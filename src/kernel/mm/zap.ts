// Zapping user PTEs into an mmu_gather (mm/memory.c zap_pte_range() and
// unmap_page_range(), reduced to 4 KiB pages). One PTE table at a time
// under its split lock; when the gather's page batch could overflow, the
// batch is flushed and freed first, with the lock dropped (the forced
// flush of zap_pte_range).
//
// Under the lock, first flush_tlb_batched_pending (tlb/batch.ts): a PTE
// reclaim cleared without flushing looks none to us, and our caller would
// return believing the range unmapped while a CPU still writes through it.
//
// A dirty PTE of a page-cache page passes its dirty bit to the page, and
// the TLB flush then runs before the lock is dropped (1cf35d47712d):
// reclaim, taking the same lock after us, must not find the page clean-
// looking-but-dirty and write it back while another CPU can still write to
// it through the entry we have not flushed yet (the write would be lost
// with the page).

import { FRAME_STATE_MASK, FS_PAGETABLE, PTE_D, PTE_P, PTE_PS } from '../../../native-layout/bits.js';
import { FRAME_STRIDE, FR_FLAGS, MM_ANON_PAGES, MM_STRIDE } from '../../../native-layout/fields.js';
import { clearEntry, entryWord, ptSlotOf, readHi, readLo } from '../../hw/ptstore.js';
import { ptIndex, ptePfn } from '../../hw/pte.js';
import type { KernelCtx } from '../ctx.js';
import { flushTlbBatchedPending } from '../tlb/batch.js';
import { isFilePage, markFilePageDirty } from './filemap.js';
import { tlbBatchRoom, tlbFlushMmu, tlbFlushMmuTlbonly, tlbRemovePage } from './gather.js';
import type { MmuGather } from './gather-state.js';
import { mmPgd } from './mm.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { HeldTable, swWalkHold, swWalkRelease, swWalkStep } from '../../check/sw-walk.js';
import { WALK_ZAP } from '../../check/walkers.js';
import { BUG, injected } from '../../check/bugs.js';
import { pteIsMigration, pteIsProtNone } from './pte-states.js';
import { migrationEntryChanged } from './migrate.js';

const PAGE = 4096;
const BUG_ZAP_DIRTY_FLUSH_AFTER_UNLOCK = BUG['zap-dirty-flush-after-unlock']!;
/** Pages per PTE table. */
export const PTRS_PER_PTE = 512;

/**
 * The PTE table covering va: its frame, or -1 if a level above it is
 * missing (or maps a huge page). Lock-free: tables are unlinked only with
 * mmap_lock held for write, which the callers exclude, or (khugepaged's
 * retraction) under the PTE lock, which rmap walkers re-walk under.
 *
 * With a walker (src/check/walkers.ts) and the mm walked, each table
 * stepped into is checked (src/check/sw-walk.ts): the PUD and PMD tables
 * always, the PTE table itself when `checkPteTable` (a walker whose locks
 * keep that table alive; rmap's re-walk under a lock it may not hold for
 * the table it finds passes false).
 */
export function pteTablePfn(k: KernelCtx, root: number, va: number, walker = 0, mm = -1, checkPteTable = true): number {
  const pt = k.env.pt;
  const frame = k.frame;
  let table = root;
  for (let level = 4; level > 1; level--) {
    if ((frame[table * FRAME_STRIDE + FR_FLAGS] & FRAME_STATE_MASK) !== FS_PAGETABLE) return -1;
    const w = entryWord(ptSlotOf(frame, table), ptIndex(va, level));
    const lo = readLo(pt, w);
    if ((lo & PTE_P) === 0 || (lo & PTE_PS) !== 0) return -1;
    table = ptePfn(lo, readHi(pt, w));
    if (walker !== 0 && (level > 2 || checkPteTable) && !swWalkStep(k, walker, mm, va, level - 1, table)) return -1;
  }
  if ((frame[table * FRAME_STRIDE + FR_FLAGS] & FRAME_STATE_MASK) !== FS_PAGETABLE) return -1;
  return table;
}

/** The page-table store slot of the PTE table covering va, or -1 (pteTablePfn, unchecked). */
export function pteTableSlot(k: KernelCtx, root: number, va: number): number {
  const table = pteTablePfn(k, root, va);
  return table < 0 ? -1 : ptSlotOf(k.frame, table);
}

/** This CPU's zap walker: the PTE table it holds locked (checked on unlock). */
const zapHeld = new HeldTable();

/** Clears every present, NUMA hinting and migration PTE of mm in [start, end) (pages) into g. Returns the pages cleared. */
export function zapPteRange(k: KernelCtx, g: MmuGather, mm: number, start: number, end: number): number {
  const pt = k.env.pt;
  const seq = k.env.seq;
  const root = mmPgd(k, mm);
  let cleared = 0;
  let anon = 0;
  let vpn = start;
  while (vpn < end) {
    const chunkEnd = Math.min(end, (Math.floor(vpn / PTRS_PER_PTE) + 1) * PTRS_PER_PTE);
    const table = pteTablePfn(k, root, vpn * PAGE, WALK_ZAP, mm);
    if (table < 0) {
      vpn = chunkEnd;
      continue;
    }
    const slot = ptSlotOf(k.frame, table);
    if (tlbBatchRoom(g) < chunkEnd - vpn) tlbFlushMmu(k, g);
    pteLock(k, slot);
    swWalkHold(k, zapHeld, table);
    flushTlbBatchedPending(k, mm);
    let dirtyFile = false;
    // A table can map more pages than a batch holds (a whole 2 MiB range
    // of 512): when the batch is full we stop, flush it once the lock is
    // dropped, and come back for the rest (zap_pte_range's force_flush).
    let next = chunkEnd;
    for (let v = vpn; v < chunkEnd; v++) {
      if (tlbBatchRoom(g) === 0) {
        next = v;
        break;
      }
      const w = entryWord(slot, v & (PTRS_PER_PTE - 1));
      const lo0 = readLo(pt, w);
      if ((lo0 & PTE_P) === 0) {
        // A NUMA hinting or migration entry (pte-states.ts) still holds
        // the page's mapping reference: clear it and drop that reference
        // through the gather, like a present PTE's (zap_nonpresent_ptes).
        // A PROT_NONE entry may still be cached by a TLB (change_prot_numa
        // not flushed yet): the gather's flush covers it. Hardware never
        // writes a non-present entry, so a plain clear will do.
        if (pteIsProtNone(lo0) || pteIsMigration(lo0)) {
          const hi0 = readHi(pt, w);
          clearEntry(pt, seq, w);
          kernelPoint(SITE_PTE_WRITE);
          // Faults waiting for the migration to end retry now (and fault in afresh).
          if (pteIsMigration(lo0)) migrationEntryChanged(k, w);
          const pfn0 = ptePfn(lo0, hi0);
          if (!isFilePage(k, pfn0)) anon++;
          tlbRemovePage(g, pfn0, v);
          cleared++;
        }
        continue;
      }
      const hi = readHi(pt, w);
      const lo = clearEntry(pt, seq, w);
      kernelPoint(SITE_PTE_WRITE);
      if ((lo & PTE_P) === 0) continue;
      const pfn = ptePfn(lo, hi);
      // Page-cache pages are not anonymous: the cache keeps its reference.
      if (!isFilePage(k, pfn)) anon++;
      else if ((lo & PTE_D) !== 0) {
        markFilePageDirty(k, pfn);
        dirtyFile = true;
      }
      tlbRemovePage(g, pfn, v);
      cleared++;
    }
    // The flush of a dirty shared PTE before the unlock (1cf35d47712d):
    // after it, reclaim takes this lock, finds the page unmapped and dirty,
    // writes it back and evicts it as clean while a CPU still writes it
    // through the entry we cleared (injectable as zap-dirty-flush-after-unlock).
    const flushLate = dirtyFile && injected[BUG_ZAP_DIRTY_FLUSH_AFTER_UNLOCK] !== 0;
    if (dirtyFile && !flushLate) tlbFlushMmuTlbonly(k, g);
    swWalkRelease(k, zapHeld, WALK_ZAP, mm, vpn * PAGE);
    pteUnlock(k, slot);
    if (flushLate) tlbFlushMmuTlbonly(k, g);
    if (next < chunkEnd) tlbFlushMmu(k, g);
    vpn = next;
  }
  if (anon > 0) Atomics.sub(k.mm, mm * MM_STRIDE + MM_ANON_PAGES, anon);
  return cleared;
}
