// Checked software walks (issue 11): the kernel's own page-table walkers
// (zap_pte_range, change_pte_range, page_vma_mapped_walk, the table
// retraction and free_pgtables walks) check each table they step into, as
// the hardware walker's oracle (§9.4) checks the tables it walks.
//
// A hardware walk through a freed table is caught by the paging-structure
// oracle; a software walk through one was silent: the walkers read the
// frame's state, saw "not a page table" and went on as if the range were
// empty, or (worse) held the lock of a slot that now belongs to another
// table and cleared entries in it. Two checks close that:
//
//   step:  every table a walker steps into, from the entry it just read in
//          the level above, must still be a page table (state FS_PAGETABLE)
//          of the mm being walked (ptOwner.mm) — not a freed frame, not a
//          table the slot was handed to since. Walkers call it only where
//          what they hold forbids a concurrent free (mmap_lock against
//          munmap's and khugepaged's frees, the PTE lock under it), so a
//          failure is a missing lock, never a benign race;
//   held:  when a walker leaves a PTE table whose lock it took, the table
//          must be the same incarnation it locked (same frame, same content
//          generation, still a page table): a retraction that unlinks and
//          frees a table without taking the lock its rmap walkers hold
//          (8d3c106e19e8, injectable as retract-no-pte-lock) is caught here
//          even when no later walk lands in the freed frame. A walker that
//          goes on using the address it found the table by also checks the
//          table is still linked there (swWalkReleaseLinked): a table
//          moved away under it (mremap moving a whole table without the
//          i_mmap lock, 97113eb39fa7) is sw-walk-moved-table.
//
// Linux keeps such tables alive for lockless walkers with RCU (pte_free_defer,
// pte_offset_map's rcu_read_lock); our kernel has no RCU, so the lockless
// first walk of page_vma_mapped_walk is not checked, only its re-walk under
// the PTE lock (rmap.ts lockPteOf).
//
// Cost: a load and a compare per level on syscall and reclaim paths; nothing
// on the TLB-hit or fault path.

import { FRAME_STATE_MASK, FS_PAGETABLE } from '../../native-layout/bits.js';
import {
  FRAME_STRIDE, FR_CONTENT_GEN, FR_FLAGS, FR_PRIVATE, 
  PT_OWNER_FREED_BY, PT_OWNER_FREED_PFN, PT_OWNER_MM, PT_OWNER_STRIDE,
} from '../../native-layout/fields.js';
import type { MachineViews } from '../../native-layout/memory.js';
import type { KernelCtx } from '../kernel/ctx.js';
import { V_SW_WALK_FREED_TABLE, V_SW_WALK_MOVED_TABLE, reportViolation, setSwWalkDetails } from './oracle.js';

/** ptOwner.mm for kernel tables (the kernel half, shared by every PGD). */
export const PT_OWNER_KERNEL = -1;

/** Records that the table in store slot `slot` belongs to mm (PT_OWNER_KERNEL for kernel tables). */
export function setPtOwner(views: MachineViews, slot: number, mm: number): void {
  views.ptOwner[slot * PT_OWNER_STRIDE + PT_OWNER_MM] = mm + 1;
}

/** The mm the table in slot belongs to, PT_OWNER_KERNEL for kernel (or not yet owned) tables. */
export function ptOwnerOf(views: MachineViews, slot: number): number {
  return views.ptOwner[slot * PT_OWNER_STRIDE + PT_OWNER_MM]! - 1;
}

/** pte_free(): the frame leaves slot `slot`, freed by cpu. Kept for the violation record. */
export function notePtFree(views: MachineViews, slot: number, pfn: number, cpu: number): void {
  const at = slot * PT_OWNER_STRIDE;
  views.ptOwner[at + PT_OWNER_MM] = 0;
  views.ptOwner[at + PT_OWNER_FREED_PFN] = pfn + 1;
  views.ptOwner[at + PT_OWNER_FREED_BY] = cpu + 1;
}

/** The CPU that last freed table frame pfn, or -1 if no slot remembers it (a scan: violation path only). */
export function ptFreedBy(views: MachineViews, pfn: number): number {
  const o = views.ptOwner;
  for (let at = 0; at + PT_OWNER_STRIDE <= o.length; at += PT_OWNER_STRIDE) {
    if (o[at + PT_OWNER_FREED_PFN] === pfn + 1) return o[at + PT_OWNER_FREED_BY]! - 1;
  }
  return -1;
}

function report(k: KernelCtx, walker: number, va: number, level: number, pfn: number, gen: number): void {
  const frameGen = pfn >= 0 && pfn < k.env.frames ? k.frame[pfn * FRAME_STRIDE + FR_CONTENT_GEN]! : -1;
  const w = k.mmu.walker;
  const slot = reportViolation(k.views, k.cpu, V_SW_WALK_FREED_TABLE, va, pfn, gen, frameGen, w.task, w.op);
  if (slot >= 0) setSwWalkDetails(k.views, slot, walker, level, ptFreedBy(k.views, pfn));
}

/**
 * One step of a checked walk: `pfn`, read from an entry of the level above,
 * is the level-`level` table of mm the walker (src/check/walkers.ts) steps
 * into for va. true if it is a live page table of mm (or a kernel table);
 * false after reporting sw-walk-freed-table (the walker then treats the
 * range as unmapped, as it did before the check).
 */
export function swWalkStep(k: KernelCtx, walker: number, mm: number, va: number, level: number, pfn: number): boolean {
  const base = pfn * FRAME_STRIDE;
  if (pfn >= 0 && pfn < k.env.frames && (k.frame[base + FR_FLAGS]! & FRAME_STATE_MASK) === FS_PAGETABLE) {
    const owner = ptOwnerOf(k.views, k.frame[base + FR_PRIVATE]!);
    if (owner === mm || owner === PT_OWNER_KERNEL) return true;
  }
  report(k, walker, va, level, pfn, -1);
  return false;
}

/** A PTE table a walker locked: its frame and generation at lock time (one per CPU, reused). */
export class HeldTable {
  pfn = -1;
  gen = 0;
}

/** Remembers the incarnation of the table frame `pfn` a walker has just locked. */
export function swWalkHold(k: KernelCtx, held: HeldTable, pfn: number): void {
  held.pfn = pfn;
  held.gen = k.frame[pfn * FRAME_STRIDE + FR_CONTENT_GEN]!;
}

/**
 * Before the walker drops the lock of the table it holds: the table must
 * still be the incarnation it locked. false after reporting: someone freed
 * it while the walker was inside, without the lock that excludes the walker.
 */
export function swWalkRelease(k: KernelCtx, held: HeldTable, walker: number, mm: number, va: number): boolean {
  const pfn = held.pfn;
  held.pfn = -1;
  if (pfn < 0) return true;
  const base = pfn * FRAME_STRIDE;
  if ((k.frame[base + FR_FLAGS]! & FRAME_STATE_MASK) === FS_PAGETABLE && k.frame[base + FR_CONTENT_GEN] === held.gen
    && ptOwnerOf(k.views, k.frame[base + FR_PRIVATE]!) === mm) return true;
  report(k, walker, va, 1, pfn, held.gen);
  return false;
}

/**
 * swWalkRelease for a walker that found its table through an address it
 * will go on using (page_vma_mapped_walk: it flushes that address after
 * clearing an entry): the table must also still be the one linked at va,
 * `linkedPfn` (the caller's re-walk, -1 for none). A table moved to another
 * address while held (mremap's whole-table move without the i_mmap lock,
 * 97113eb39fa7) is reported as sw-walk-moved-table: the walker's flush of
 * va missed the entries now cached at the new address. false after
 * reporting either violation.
 */
export function swWalkReleaseLinked(k: KernelCtx, held: HeldTable, walker: number, mm: number, va: number, linkedPfn: number): boolean {
  const pfn = held.pfn;
  const gen = held.gen;
  if (!swWalkRelease(k, held, walker, mm, va)) return false;
  if (pfn < 0 || linkedPfn === pfn) return true;
  const w = k.mmu.walker;
  const slot = reportViolation(k.views, k.cpu, V_SW_WALK_MOVED_TABLE, va, pfn, gen, linkedPfn, w.task, w.op);
  if (slot >= 0) setSwWalkDetails(k.views, slot, walker, 1, -1);
  return false;
}
