// Page migration of one anonymous page, from a NUMA hinting fault or from
// kcompactd (compaction.ts) (mm/migrate.c migrate_misplaced_folio() and
// compaction's migrate_pages() ->
// migrate_folio_unmap() / migrate_folio_move(), with mm/rmap.c
// try_to_migrate_one() and remove_migration_ptes()), reduced to a page
// mapped by exactly one PTE (refcount 1: not shared by fork, not pinned).
//
// The faulting task holds mmap_lock for read throughout, so mmap_lock
// writers (fork, mprotect, mremap, khugepaged) never meet a migration
// entry; MADV_DONTNEED and munmap's zap after its downgrade may, and clear
// it like a present PTE (zap.ts), dropping the page reference it stands
// for. Migration keeps a reference of its own (isolation's), so the old
// page outlives such a zap until we are done with it.
//
//   PTE lock:  the entry is still the PROT_NONE one the fault saw, the
//              page is mapped once;
//              ptep_clear_flush: clear it, and flush its page if
//              pte_accessible() (pte-states.ts) says a TLB may still use it;
//              install the migration entry (old pfn, old rights);
//   unlocked:  allocate the new page, copy the old one into it;
//   PTE lock:  if the migration entry is still there, replace it with a
//              present PTE to the new page (rights from the entry);
//   unlocked:  drop the mapping's and our reference to the old page: it is
//              freed here.
//
// The flush is the whole point of 20841405940e: a PROT_NONE entry that
// change_prot_numa has not flushed yet may still be cached writable on
// another CPU. Without the flush, that CPU writes the old page after the
// copy (the write is lost) and then after the free (a stale translation to
// a freed frame, which the MMU oracle reports at once).
//
// A fault on a migration entry waits for it to change
// (migration_entry_wait()), then retries.

import { PTE_P } from '../../../native-layout/bits.js';
import { clearEntry, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { SPIN_BEFORE_WAIT, spinHook } from '../../sync/hook.js';
import { WAIT_ANY, cpuCancelSleep, cpuPrepareSleep, cpuSleep, haltAllowed, hasCpuWake, kickWaiters, wordAddr } from '../../sync/wake.js';
import { countPageCopy } from '../account.js';
import type { KernelCtx } from '../ctx.js';
import { GFP_HIGHUSER_MOVABLE } from '../page_alloc/gfp.js';
import { SITE_MIGRATE_COPY, SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { flushTlbPage } from '../tlb/flush-mm.js';
import { isFilePage } from './filemap.js';
import { numaRestore, numaTally } from './numa.js';
import { getPage, pageRefcount, putPage } from './page-ref.js';
import { PTE_MIGRATION, migrationFromEntry, pteAccessible } from './pte-states.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { pteHi, pteLo, ptePfn, pteProt } from '../../hw/pte.js';

/**
 * Migrates the page behind the PROT_NONE entry (expectLo, expectHi) at
 * word w of the PTE table in `slot` (vpn's entry in mm), if it is still
 * that entry and the page is mapped once; otherwise restores the entry or
 * leaves it to the retry. mmap_lock held for read, the PTE lock not held.
 * Returns true if the page moved.
 */
export function migrateMisplaced(
  k: KernelCtx, mm: number, slot: number, w: number, vpn: number, expectLo: number, expectHi: number, vmaWritable: boolean,
): boolean {
  const moved = migrateOnePage(k, mm, slot, w, vpn, expectLo, expectHi, vmaWritable, true);
  if (moved) numaTally.migrated++;
  return moved;
}

/**
 * Migrates the page a present PTE (expectLo, expectHi) at word w of the
 * table in `slot` maps (vpn's entry in mm), if the entry is still that
 * one and the page is mapped only there; otherwise leaves it. For
 * kcompactd (compaction.ts): mmap_lock of mm held for read, the PTE lock
 * not held. Returns true if the page moved.
 */
export function migratePresentPage(k: KernelCtx, mm: number, slot: number, w: number, vpn: number, expectLo: number, expectHi: number): boolean {
  return migrateOnePage(k, mm, slot, w, vpn, expectLo, expectHi, true, false);
}

/** The migration itself, from a PROT_NONE entry (restored on refusal) or a present one (left as it is). */
function migrateOnePage(
  k: KernelCtx, mm: number, slot: number, w: number, vpn: number, expectLo: number, expectHi: number, vmaWritable: boolean,
  fromProtNone: boolean,
): boolean {
  const pt = k.env.pt;
  const seq = k.env.seq;
  pteLock(k, slot);
  const lo = readLo(pt, w);
  const hi = readHi(pt, w);
  if (lo !== expectLo || hi !== expectHi) {
    pteUnlock(k, slot);
    return false;
  }
  const old = ptePfn(lo, hi);
  // Only a page this entry alone maps (migrate_folio's expected count):
  // fork-shared pages, page-cache pages and pinned pages stay.
  if (isFilePage(k, old) || pageRefcount(k, old) !== 1) {
    if (fromProtNone) numaRestore(k, w, lo, hi, vmaWritable);
    pteUnlock(k, slot);
    return false;
  }
  getPage(k, old);
  // ptep_clear_flush(): the flush only if a TLB may still hold the entry.
  const flush = pteAccessible(k, mm, lo);
  clearEntry(pt, seq, w);
  kernelPoint(SITE_PTE_WRITE);
  if (flush) flushTlbPage(k, mm, vpn);
  const mig = migrationFromEntry(lo);
  setEntry(pt, seq, w, mig, hi);
  kernelPoint(SITE_PTE_WRITE);
  pteUnlock(k, slot);

  const copy = k.alloc.allocPages(k.cpu, 0, GFP_HIGHUSER_MOVABLE);
  if (copy >= 0) {
    k.copyUserPage(k, copy, old, true);
    countPageCopy(k);
    kernelPoint(SITE_MIGRATE_COPY);
  }

  pteLock(k, slot);
  const still = readLo(pt, w) === mig && readHi(pt, w) === hi;
  if (still) {
    if (copy >= 0) {
      // remove_migration_ptes(): the new page, with the entry's rights.
      const prot = (pteProt(mig, hi) & ~PTE_MIGRATION) | PTE_P;
      setEntry(pt, seq, w, pteLo(copy, prot), pteHi(copy, prot));
    } else {
      // No page to move to: the old one goes back (present, as it was before the hint).
      setEntry(pt, seq, w, (mig & ~PTE_MIGRATION) | PTE_P, hi);
    }
    kernelPoint(SITE_PTE_WRITE);
  }
  pteUnlock(k, slot);
  // Faults sleeping on the migration entry (migrationEntryWait).
  if (still) migrationEntryChanged(k, w);
  if (!still) {
    // Zapped meanwhile (MADV_DONTNEED, munmap): the zap dropped the
    // mapping's reference; the new page was never mapped.
    if (copy >= 0) k.alloc.freePages(k.cpu, copy, 0);
    putPage(k, old);
    return false;
  }
  if (copy < 0) {
    putPage(k, old);
    return false;
  }
  // The mapping's reference moved to the new page; then ours: the old page is freed.
  putPage(k, old);
  putPage(k, old);
  return true;
}

/**
 * migration_entry_wait(): the fault found a migration entry at w. Waits,
 * PTE lock not held and mmap_lock still held for read (the migration runs
 * under it too), until the entry changes; the caller retries the access.
 * Keeps taking IPIs meanwhile (the migration may be flushing us).
 */
export function migrationEntryWait(k: KernelCtx, w: number, lo: number, hi: number): void {
  const pt = k.env.pt;
  numaTally.migrationWaits++;
  // Spin, then sleep on this CPU's wake word as every other wait does
  // (src/sync/wake.ts): an IPI or the kick of whoever changes the entry
  // (the migration's remap, a zap: migrationEntryChanged) rings it, so a
  // sleeping CPU still answers shootdowns. A thread that is no CPU, or the
  // serialized engine (no halts), only spins through the hook.
  const addr = wordAddr(pt, w);
  let spins = 0;
  while (readLo(pt, w) === lo && readHi(pt, w) === hi) {
    spinHook();
    if (++spins <= SPIN_BEFORE_WAIT || !hasCpuWake() || !haltAllowed()) continue;
    const bell = cpuPrepareSleep(addr, WAIT_ANY);
    if (readLo(pt, w) === lo && readHi(pt, w) === hi) cpuSleep(bell);
    else cpuCancelSleep();
  }
}

/** Wakes the CPUs sleeping in migrationEntryWait on word w, which the caller just changed. */
export function migrationEntryChanged(k: KernelCtx, w: number): void {
  kickWaiters(wordAddr(k.env.pt, w), WAIT_ANY, Infinity);
}
