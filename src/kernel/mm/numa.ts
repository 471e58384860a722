// NUMA hinting (kernel/sched/fair.c task_numa_work() -> mm/mempolicy.c
// change_prot_numa() -> mm/mprotect.c change_protection() with
// MM_CP_PROT_NUMA), and the fault it provokes (mm/memory.c do_numa_page()).
//
// The scan runs under mmap_lock for READ, so faults, MADV_DONTNEED and
// munmap's zap (after its downgrade) run beside it. It turns the present
// PTEs of anonymous areas into PROT_NONE entries (pte-states.ts) one PTE
// table at a time under that table's lock, and flushes once, at the end,
// through an mmu_gather: tlbGatherMmu raises mm_tlb_flush_pending for the
// whole scan. Until that flush, other CPUs may still hold the entries it
// replaced, writable ones included. Whoever looks at one of those PROT_NONE
// entries meanwhile and cares whether a TLB may still use it (migration's
// ptep_clear_flush) must ask pte_accessible(), which says yes while the
// flush is pending (20841405940e).
//
// The next access to a PROT_NONE page faults. do_numa_page either puts the
// entry back as it was (the page is where it should be) or, at a rate the
// caller chooses (setNumaMigratePercent: the share of hinting faults that
// find their page on the wrong node), migrates the page (migrate.ts).

import { PTE_P, PTE_RW, PTE_US, VM_MSHARE, VM_READ, VM_SHARED } from '../../../native-layout/bits.js';
import { VMA_END, VMA_FILE, VMA_FLAGS, VMA_START } from '../../../native-layout/fields.js';
import { HeldTable, swWalkHold, swWalkRelease } from '../../check/sw-walk.js';
import { WALK_NUMA } from '../../check/walkers.js';
import { entryWord, modifyEntry, ptSlotOf, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { downRead, upRead } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { SITE_NUMA_SCAN, SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { flushTlbBatchedPending } from '../tlb/batch.js';
import { tlbClearedPte, tlbFinishMmu, tlbGatherMmu } from './gather.js';
import type { MmuGather } from './gather-state.js';
import { mmPgd, mmapLockAt } from './mm.js';
import { PTE_PROTNONE, presentFromProtNone } from './pte-states.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { vmaAt } from './vma.js';
import { PTRS_PER_PTE, pteTablePfn } from './zap.js';
import { xorshift32 } from '../../xorshift.js';

const PAGE = 4096;

/**
 * This CPU's NUMA tallies and its migration rate (one CPU per worker
 * thread, so module state is per CPU). The workload reads the tallies
 * into its run summary.
 */
export const numaTally = { faults: 0, migrated: 0, migrationWaits: 0 };

let migratePercent = 0;
let rng = 0x2545f491;

/** The share (percent) of NUMA hinting faults that migrate their page; seed for this CPU's choices. */
export function setNumaMigratePercent(percent: number, seed = 1): void {
  migratePercent = Math.max(0, Math.min(100, percent | 0));
  rng = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x2545f491) | 1;
}

/** Resets the tallies (a new run in this thread). */
export function resetNumaTally(): void {
  numaTally.faults = 0;
  numaTally.migrated = 0;
  numaTally.migrationWaits = 0;
}

function nextRandom(): number {
  rng = xorshift32(rng);
  return (rng >>> 0) % 100;
}

/** Whether this hinting fault should migrate its page (the misplaced-node decision, reduced to a rate). */
export function numaShouldMigrate(): boolean {
  return migratePercent > 0 && nextRandom() < migratePercent;
}

/** This CPU's change_prot_numa walker: the PTE table it holds locked (checked on unlock). */
const numaHeld = new HeldTable();

/**
 * change_prot_numa() over the anonymous areas of mm in [startVpn, endVpn),
 * as task_numa_work() calls it: mmap_lock for read, one mmu_gather (and
 * its flush) per area. Returns the PTEs made PROT_NONE.
 */
export function changeProtNuma(k: KernelCtx, mm: number, startVpn: number, endVpn: number): number {
  const lock = mmapLockAt(mm);
  downRead(k.mm, lock);
  const v = k.vma;
  let n = 0;
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    const flags = v[at + VMA_FLAGS];
    // Anonymous private areas a task can access (vma_is_accessible), not
    // mshare areas (their tables are the host's), not file mappings.
    if (flags === 0 || (flags & VM_READ) === 0 || (flags & (VM_MSHARE | VM_SHARED)) !== 0 || v[at + VMA_FILE] >= 0) continue;
    const s = Math.max(startVpn, v[at + VMA_START]);
    const e = Math.min(endVpn, v[at + VMA_END]);
    if (s >= e) continue;
    const g = tlbGatherMmu(k, mm, false);
    for (let vpn = s; vpn < e;) {
      const chunkEnd = Math.min(e, (Math.floor(vpn / PTRS_PER_PTE) + 1) * PTRS_PER_PTE);
      n += numaPteRange(k, g, mm, vpn, chunkEnd);
      vpn = chunkEnd;
    }
    // The one flush, at the end of the area (change_protection_range's
    // flush_tlb_range / tlb_finish_mmu); mm_tlb_flush_pending drops here.
    tlbFinishMmu(k, g);
  }
  upRead(k.mm, lock);
  return n;
}

/** change_pte_range() with MM_CP_PROT_NUMA over one PTE table: present user PTEs become PROT_NONE. */
function numaPteRange(k: KernelCtx, g: MmuGather, mm: number, start: number, end: number): number {
  const root = mmPgd(k, mm);
  const table = pteTablePfn(k, root, start * PAGE, WALK_NUMA, mm);
  if (table < 0) return 0;
  const slot = ptSlotOf(k.frame, table);
  const pt = k.env.pt;
  let n = 0;
  pteLock(k, slot);
  swWalkHold(k, numaHeld, table);
  // As mprotect: PTEs reclaim cleared with their flush deferred must be
  // flushed before we decide from what we see.
  flushTlbBatchedPending(k, mm);
  for (let vpn = start; vpn < end; vpn++) {
    const w = entryWord(slot, vpn & (PTRS_PER_PTE - 1));
    const lo = readLo(pt, w);
    if ((lo & (PTE_P | PTE_US)) !== (PTE_P | PTE_US)) continue;
    // P off, PROTNONE on; A and D as the hardware left them (compare-exchange).
    if (modifyEntry(pt, k.env.seq, w, ~PTE_P, PTE_PROTNONE, readHi(pt, w)) === 0) continue;
    kernelPoint(SITE_PTE_WRITE);
    tlbClearedPte(g, vpn);
    n++;
  }
  swWalkRelease(k, numaHeld, WALK_NUMA, mm, start * PAGE);
  pteUnlock(k, slot);
  // The scan goes on (the next table, the next area) with this table's
  // entries made PROT_NONE and not flushed: hinting faults may take them now.
  if (n > 0) kernelPoint(SITE_NUMA_SCAN);
  return n;
}

/**
 * do_numa_page()'s no-migration outcome, PTE lock held: the PROT_NONE
 * entry at w becomes present again with the rights it had, less write if
 * the area lost it since (mprotect also strips it from PROT_NONE entries;
 * this is the belt to that brace). Making an entry more permissive needs
 * no flush.
 */
export function numaRestore(k: KernelCtx, w: number, lo: number, hi: number, vmaWritable: boolean): void {
  let next = presentFromProtNone(lo);
  if (!vmaWritable) next &= ~PTE_RW;
  setEntry(k.env.pt, k.env.seq, w, next, hi);
  kernelPoint(SITE_PTE_WRITE);
}
