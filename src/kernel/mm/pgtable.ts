// Kernel-side page-table operations over the hardware format (src/hw/pte.ts,
// ptstore.ts): allocate a PGD, map 4 KiB / 2 MiB / 1 GiB leaves, unmap,
// change protection, split a huge mapping, free empty tables.
//
// Page-table pages are ordinary frames from the page allocator, as in Linux
// (pte_alloc_one -> alloc_pages): the allocator hands out an FS_ALLOCATED
// frame, we turn it into FS_PAGETABLE and give it a page-table store slot; on
// free we turn it back before freePages(). So splitting a huge mapping really
// allocates, and can fail (the guest_memfd recursion problem is real here).
//
// Locking: callers serialise changes to one address space (the role of
// mm->page_table_lock and the split PTE locks); nothing here takes a lock.
// What runs concurrently is the hardware: walkers on every CPU read entries
// and set A/D bits, which is what the entry write protocol in ptstore.ts and
// the compare-exchange updates below are for.
//
// Nothing here flushes a TLB: after unmapping, downgrading or unhooking a
// table the caller must flush before the frame (or table) is reused. To free
// tables only after that flush (mmu_gather, tlb_remove_table), pass a gather
// array to freePgtables() and call freePgtablePage() after the flush.
//
// Errors are negative errno values; allocation failure never throws.

import {
  FRAME_STATE_MASK, FS_ALLOCATED, FS_PAGETABLE, PTE_A, PTE_D, PTE_P, PTE_PS, PTE_RW, PTE_US, PT_ENTRIES,
} from '../../../native-layout/bits.js';
import { C } from '../../../native-layout/counters.js';
import { COUNTERS_STRIDE, FRAME_STRIDE, FR_FLAGS } from '../../../native-layout/fields.js';
import type { MachineMemory } from '../../../native-layout/memory.js';
import { setFrameState } from '../../hw/frames.js';
import {
  allocPtSlot, attachPtSlot, beginWrite, clearEntry, detachPtSlot, endWrite, entryWord, freePtSlot, modifyEntry,
  ptSlotOf, readHi, readLo, setEntry,
} from '../../hw/ptstore.js';
import {
  KERNEL_HALF, LEVEL_FRAMES, LEVEL_SIZE, PROT_LO_MASK, VA_LIMIT, ptIndex, pteHi, pteLo, ptePfn, pteProt,
} from '../../hw/pte.js';
import { SITE_PGTABLE_FREE, SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { asiMirrorPgdEntry } from '../asi/mirror.js';
import { PT_OWNER_KERNEL, notePtFree, ptOwnerOf, setPtOwner } from '../../check/sw-walk.js';
import { ghostCheckTableFree } from '../../check/ghost-table.js';

/**
 * What page-table code needs from the page allocator (src/kernel/page_alloc's
 * PageAllocator has these signatures). allocPages returns the first pfn of an
 * FS_ALLOCATED block of 2^order frames, or -1.
 */
export interface FrameAllocator {
  allocPages(cpu: number, order: number, gfp: number): number;
  freePages(cpu: number, pfn: number, order: number): void;
}

export const ENOENT = -2;
export const ENOMEM = -12;
export const EBUSY = -16;
export const EEXIST = -17;
export const EINVAL = -22;

export interface PgtableEnv {
  readonly mem: MachineMemory;
  readonly frame: Int32Array;
  readonly pt: Int32Array;
  /** Per-table write counters (ptstore.ts protocol). */
  readonly seq: Int32Array;
  readonly slots: Int32Array;
  readonly counters: Float64Array;
  readonly frames: number;
  readonly alloc: FrameAllocator;
  /** gfp flags for page-table pages (GFP_PGTABLE_USER / _KERNEL equivalents: the caller's choice). */
  readonly gfp: number;
}

export function pgtableEnv(mem: MachineMemory, alloc: FrameAllocator, gfp = 0): PgtableEnv {
  const v = mem.views;
  return {
    mem, frame: v.frame, pt: v.ptStore, seq: v.ptSeq, slots: v.ptSlots, counters: v.counters,
    frames: mem.layout.frames, alloc, gfp,
  };
}

/** Internal fault: a table pointer leads to a frame that is not a page table. */
export class PgtableCorruptError extends Error {
  override name = 'PgtableCorruptError';
}

// ---- page-table pages ----------------------------------------------------------

/** A zeroed page-table page (pfn), or ENOMEM. As pte_alloc_one(). */
export function allocPgtablePage(env: PgtableEnv, cpu: number): number {
  const pfn = env.alloc.allocPages(cpu, 0, env.gfp);
  if (pfn < 0) return ENOMEM;
  const slot = allocPtSlot(env.slots);
  if (slot < 0) {
    env.alloc.freePages(cpu, pfn, 0);
    return ENOMEM;
  }
  // Contents and slot first, state last: whoever sees FS_PAGETABLE (a walker
  // through a stale pointer, the checker) sees an empty table, never the
  // previous owner's entries.
  attachPtSlot(env.frame, env.pt, env.seq, pfn, slot);
  // Kernel until the caller says otherwise: entryFor and splitHuge give a
  // new table its parent's mm, mm_alloc gives a PGD its mm (checked walks).
  setPtOwner(env.mem.views, slot, PT_OWNER_KERNEL);
  setFrameState(env.frame, pfn, FS_PAGETABLE);
  env.counters[cpu * COUNTERS_STRIDE + C.pageTablesAllocated] += 1;
  return pfn;
}

/**
 * Returns an unhooked page-table page to the allocator. The caller has made
 * sure no TLB or paging-structure cache still points to it (see the header).
 */
export function freePgtablePage(env: PgtableEnv, cpu: number, pfn: number): number {
  if (!isPagetable(env, pfn)) return EINVAL;
  kernelPoint(SITE_PGTABLE_FREE);
  const owner = ptOwnerOf(env.mem.views, ptSlotOf(env.frame, pfn));
  if (owner > 0) ghostCheckTableFree(env.mem.views, env.mem.layout.shape.cpus, env.mem.layout.shape.pscEntries, pfn, owner, cpu);
  // State first: from here a walker arriving through a stale PSC entry finds a
  // non-table frame (oracle §9.4) instead of a table whose slot is being reused.
  setFrameState(env.frame, pfn, FS_ALLOCATED);
  const slot = detachPtSlot(env.frame, pfn);
  notePtFree(env.mem.views, slot, pfn, cpu);
  freePtSlot(env.slots, slot);
  env.counters[cpu * COUNTERS_STRIDE + C.pageTablesFreed] += 1;
  env.alloc.freePages(cpu, pfn, 0);
  return 0;
}

/** A new table belongs to the mm of the table that will point to it. */
function inheritPtOwner(env: PgtableEnv, parent: number, child: number): void {
  const views = env.mem.views;
  setPtOwner(views, ptSlotOf(env.frame, child), ptOwnerOf(views, ptSlotOf(env.frame, parent)));
}

/** The table holding va's entry at `level` (present path assumed: splitHuge found the leaf there). */
function entryTable(env: PgtableEnv, root: number, va: number, level: number): number {
  let table = root;
  for (let l = 4; l > level; l--) {
    const w = entryWord(tableSlot(env, table), ptIndex(va, l));
    table = ptePfn(readLo(env.pt, w), readHi(env.pt, w));
  }
  return table;
}

function isPagetable(env: PgtableEnv, pfn: number): boolean {
  return Number.isInteger(pfn) && pfn >= 0 && pfn < env.frames
    && (env.frame[pfn * FRAME_STRIDE + FR_FLAGS] & FRAME_STATE_MASK) === FS_PAGETABLE;
}

function tableSlot(env: PgtableEnv, pfn: number): number {
  if (!isPagetable(env, pfn)) throw new PgtableCorruptError(`frame ${pfn} is linked as a page table but is not one`);
  return ptSlotOf(env.frame, pfn);
}

/** Flags of an entry that points to a table: permissive, the leaf decides (_PAGE_TABLE / _KERNPG_TABLE). */
function tableProt(va: number): number {
  return va < KERNEL_HALF ? PTE_P | PTE_RW | PTE_US : PTE_P | PTE_RW;
}

export function pgdAlloc(env: PgtableEnv, cpu: number): number {
  return allocPgtablePage(env, cpu);
}

/** PGD index of the first kernel-half entry (KERNEL_PGD_BOUNDARY). */
export const KERNEL_PGD_BOUNDARY = PT_ENTRIES / 2;

/**
 * pgd_ctor()'s clone_pgd_range(): a new PGD points at the same kernel-half
 * tables as `from` (init_mm's), so a kernel mapping made below them is
 * present in every address space at once. The kernel never changes a
 * kernel-half PGD entry after boot (its tables below are preallocated), which
 * is what makes a copy at pgd_alloc time enough.
 */
export function cloneKernelPgd(env: PgtableEnv, root: number, from: number): void {
  const pt = env.pt;
  const src = tableSlot(env, from);
  const dst = tableSlot(env, root);
  for (let i = KERNEL_PGD_BOUNDARY; i < PT_ENTRIES; i++) {
    const w = entryWord(src, i);
    const lo = readLo(pt, w);
    if ((lo & PTE_P) !== 0) setEntry(pt, env.seq, entryWord(dst, i), lo, readHi(pt, w));
  }
}

/** Frees every table and the PGD itself; EBUSY if something is still mapped. */
export function pgdFree(env: PgtableEnv, cpu: number, root: number): number {
  freePgtables(env, cpu, root, 0, VA_LIMIT);
  if (!tableIsNone(env, tableSlot(env, root))) return EBUSY;
  return freePgtablePage(env, cpu, root);
}

// ---- walking -----------------------------------------------------------------------

/**
 * Word index of the entry for va at `target` level, allocating missing
 * intermediate tables if asked (__pte_alloc and friends). ENOENT if a table
 * is missing and allocate is false, EEXIST if a huge leaf above covers va,
 * ENOMEM if a table could not be allocated.
 */
function entryFor(env: PgtableEnv, cpu: number, root: number, va: number, target: number, allocate: boolean): number {
  const pt = env.pt;
  let table = root;
  for (let level = 4; ; level--) {
    const w = entryWord(tableSlot(env, table), ptIndex(va, level));
    if (level === target) return w;
    const lo = readLo(pt, w);
    if ((lo & PTE_P) === 0) {
      if (!allocate) return ENOENT;
      const child = allocPgtablePage(env, cpu);
      if (child < 0) return child;
      inheritPtOwner(env, table, child);
      setEntry(pt, env.seq, w, pteLo(child, tableProt(va)), pteHi(child, 0));
      // A new PUD table: the mm's nonsensitive PGD (if any) must point at it too.
      if (level === 4) asiMirrorPgdEntry(env.mem.views, env.frame, env.seq, tableSlot(env, table), ptIndex(va, 4));
      table = child;
      continue;
    }
    if ((lo & PTE_PS) !== 0) return EEXIST;
    table = ptePfn(lo, readHi(pt, w));
  }
}

/**
 * __pte_alloc() and the levels above: makes sure the page table holding
 * va's PTE exists, allocating what is missing. Returns the PTE's word index
 * in the page-table store, EEXIST if a huge leaf covers va, or ENOMEM.
 */
export function pteAlloc(env: PgtableEnv, cpu: number, root: number, va: number): number {
  if (!validVa(va)) return EINVAL;
  return entryFor(env, cpu, root, va, 1, true);
}

/**
 * pud_alloc(): the PUD entry's word index for va, allocating a missing PUD
 * table (with allocate), ENOENT if it is missing and allocate is false, or
 * ENOMEM. hugetlb's huge_pte_alloc(), which links a PMD table there that
 * other processes may share.
 */
export function pudEntry(env: PgtableEnv, cpu: number, root: number, va: number, allocate: boolean): number {
  if (!validVa(va)) return EINVAL;
  return entryFor(env, cpu, root, va, 3, allocate);
}

/**
 * pmd_alloc() and the levels above, without the PTE table: the PMD entry's
 * word index for va (allocating a missing PUD or PMD table), EEXIST if a
 * 1 GiB leaf covers va, or ENOMEM. mremap's alloc_new_pmd(), which must not
 * allocate a PTE table it may be about to replace by a moved one.
 */
export function pmdAlloc(env: PgtableEnv, cpu: number, root: number, va: number): number {
  if (!validVa(va)) return EINVAL;
  return entryFor(env, cpu, root, va, 2, true);
}

/** Where a leaf lives and what it holds (filled by lookupAddress; reuse one). */
export class PteRef {
  /** 1 = 4 KiB PTE, 2 = 2 MiB PDE, 3 = 1 GiB PDPTE. */
  level = 0;
  /** Word index of the entry in the ptStore region. */
  word = -1;
  lo = 0;
  hi = 0;
  /** First frame the leaf maps. */
  pfn = -1;
  /** pteProt(lo, hi): flags including P, PS, A, D, G, NX. */
  prot = 0;
}

/** Finds the present leaf mapping va (as lookup_address()). Returns its level or ENOENT. */
export function lookupAddress(env: PgtableEnv, root: number, va: number, out: PteRef): number {
  if (!validVa(va)) return EINVAL;
  const pt = env.pt;
  let table = root;
  for (let level = 4; level >= 1; level--) {
    const w = entryWord(tableSlot(env, table), ptIndex(va, level));
    const lo = readLo(pt, w);
    if ((lo & PTE_P) === 0) return ENOENT;
    const hi = readHi(pt, w);
    if (level === 1 || (level < 4 && (lo & PTE_PS) !== 0)) {
      out.level = level;
      out.word = w;
      out.lo = lo;
      out.hi = hi;
      out.pfn = ptePfn(lo, hi);
      out.prot = pteProt(lo, hi);
      return level;
    }
    table = ptePfn(lo, hi);
  }
  return ENOENT;
}

function validVa(va: number): boolean {
  return Number.isInteger(va) && va >= 0 && va < VA_LIMIT;
}

// ---- mapping -----------------------------------------------------------------------

function mapLeaf(env: PgtableEnv, cpu: number, root: number, va: number, pfn: number, prot: number, level: number): number {
  if (!validVa(va) || va % LEVEL_SIZE[level] !== 0) return EINVAL;
  const frames = LEVEL_FRAMES[level];
  if (!Number.isInteger(pfn) || pfn < 0 || pfn % frames !== 0 || pfn + frames > env.frames) return EINVAL;
  const w = entryFor(env, cpu, root, va, level, true);
  if (w < 0) return w;
  // Present: a leaf (replacing one needs unmap + flush first) or, for a huge
  // mapping, a table that still exists below (free it first).
  if ((readLo(env.pt, w) & PTE_P) !== 0) return EEXIST;
  // Bit 7 is PS in a PDE/PDPTE but PAT in a PTE: the caller does not choose it.
  const flags = (prot & ~PTE_PS) | PTE_P | (level > 1 ? PTE_PS : 0);
  setEntry(env.pt, env.seq, w, pteLo(pfn, flags), pteHi(pfn, prot));
  kernelPoint(SITE_PTE_WRITE);
  return 0;
}

/** Maps the 4 KiB page at va to pfn with prot (pte.ts prot word; P implied). */
export function mapPte(env: PgtableEnv, cpu: number, root: number, va: number, pfn: number, prot: number): number {
  return mapLeaf(env, cpu, root, va, pfn, prot, 1);
}

/** Maps a 2 MiB page (va and pfn 2 MiB-aligned). */
export function mapPmd(env: PgtableEnv, cpu: number, root: number, va: number, pfn: number, prot: number): number {
  return mapLeaf(env, cpu, root, va, pfn, prot, 2);
}

/** Maps a 1 GiB page (va and pfn 1 GiB-aligned). */
export function mapPud(env: PgtableEnv, cpu: number, root: number, va: number, pfn: number, prot: number): number {
  return mapLeaf(env, cpu, root, va, pfn, prot, 3);
}

/**
 * Clears the leaf mapping va (whatever its size) and returns the first frame
 * it mapped, or ENOENT. As ptep_get_and_clear(): the TLB may still hold it.
 */
export function unmapLeaf(env: PgtableEnv, root: number, va: number, out?: PteRef): number {
  const ref = out ?? new PteRef();
  const level = lookupAddress(env, root, va, ref);
  if (level < 0) return level;
  // Read A/D as cleared: a walker may set them between lookup and clear.
  ref.lo = clearEntry(env.pt, env.seq, ref.word);
  ref.prot = pteProt(ref.lo, ref.hi);
  kernelPoint(SITE_PTE_WRITE);
  return ref.pfn;
}

/**
 * Replaces the rights of the leaf mapping va with prot (P, PS, A and D are
 * kept; the pfn too). As change_pte_range(): a downgrade needs a flush after.
 */
export function changeProtection(env: PgtableEnv, root: number, va: number, prot: number): number {
  const ref = new PteRef();
  if (lookupAddress(env, root, va, ref) < 0) return ENOENT;
  const kept = ~PROT_LO_MASK | PTE_P | PTE_PS | PTE_A | PTE_D;
  const set = prot & PROT_LO_MASK & ~(PTE_P | PTE_PS | PTE_A | PTE_D);
  const changed = modifyEntry(env.pt, env.seq, ref.word, kept, set, pteHi(ref.pfn, prot));
  kernelPoint(SITE_PTE_WRITE);
  return changed === 0 ? ENOENT : 0;
}

// ---- splitting -----------------------------------------------------------------------

/**
 * Replaces the 2 MiB leaf covering va by a page table of 512 4 KiB PTEs with
 * the same frames and rights (as __split_huge_pmd_locked()). Allocates exactly
 * one page-table page; ENOMEM leaves the mapping untouched. The TLB may keep
 * the 2 MiB entry: it translates the same, and the next flush drops it.
 */
export function splitHugePmd(env: PgtableEnv, cpu: number, root: number, va: number): number {
  return splitHuge(env, cpu, root, va, 2);
}

/** Replaces the 1 GiB leaf covering va by a table of 512 2 MiB leaves. */
export function splitHugePud(env: PgtableEnv, cpu: number, root: number, va: number): number {
  return splitHuge(env, cpu, root, va, 3);
}

function splitHuge(env: PgtableEnv, cpu: number, root: number, va: number, level: number): number {
  if (!validVa(va)) return EINVAL;
  const pt = env.pt;
  const w = entryFor(env, cpu, root, va, level, false);
  if (w < 0) return w === EEXIST ? EINVAL : w;
  const lo0 = readLo(pt, w);
  if ((lo0 & (PTE_P | PTE_PS)) !== (PTE_P | PTE_PS)) return EINVAL;
  const child = allocPgtablePage(env, cpu);
  if (child < 0) return child;
  inheritPtOwner(env, entryTable(env, root, va, level), child);
  const cslot = ptSlotOf(env.frame, child);
  const step = LEVEL_FRAMES[level - 1];
  const childPs = level - 1 > 1 ? PTE_PS : 0;
  const hi = readHi(pt, w);
  const pfn = ptePfn(lo0, hi);
  // The new table is not linked yet: plain stores, published by the install.
  const fillChildren = (lo: number): void => {
    const prot = (pteProt(lo, hi) & ~PTE_PS) | childPs;
    for (let i = 0; i < PT_ENTRIES; i++) {
      const cw = entryWord(cslot, i);
      pt[cw] = pteLo(pfn + i * step, prot);
      pt[cw + 1] = pteHi(pfn + i * step, prot);
    }
  };
  // The children copy the leaf's A and D: a D set by a concurrent write must
  // not be lost, so the install is a compare-exchange against the lo the
  // children were built from, rebuilt if the hardware moved it.
  beginWrite(env.seq, w);
  Atomics.store(pt, w + 1, pteHi(child, 0));
  let lo = lo0;
  for (;;) {
    fillChildren(lo);
    const seen = Atomics.compareExchange(pt, w, lo, pteLo(child, tableProt(va)));
    if (seen === lo) break;
    lo = seen;
  }
  endWrite(env.seq, w);
  return 0;
}

// ---- freeing tables -----------------------------------------------------------------

/**
 * Unhooks and frees every table below root, within [start, end), that maps
 * nothing (all its entries none), as free_pgtables() does for unmapped VMAs.
 * With `gather`, unhooked tables are appended to it instead of freed: free
 * them with freePgtablePage() after the TLB flush. The root is never freed.
 * Returns the number of tables unhooked.
 */
export function freePgtables(
  env: PgtableEnv, cpu: number, root: number, start: number, end: number, gather?: number[],
): number {
  if (!(start >= 0 && end <= VA_LIMIT && start < end)) return 0;
  const acc = { freed: 0 };
  prune(env, cpu, root, 4, 0, start, end, gather, acc);
  return acc.freed;
}

function prune(
  env: PgtableEnv, cpu: number, table: number, level: number, tableVa: number, start: number, end: number,
  gather: number[] | undefined, acc: { freed: number },
): boolean {
  const pt = env.pt;
  const slot = tableSlot(env, table);
  const span = LEVEL_SIZE[level];
  const first = Math.max(0, Math.floor((start - tableVa) / span));
  const last = Math.min(PT_ENTRIES - 1, Math.floor((end - 1 - tableVa) / span));
  if (level > 1) {
    for (let i = first; i <= last; i++) {
      const w = entryWord(slot, i);
      const lo = readLo(pt, w);
      if ((lo & PTE_P) === 0 || (lo & PTE_PS) !== 0) continue;
      const child = ptePfn(lo, readHi(pt, w));
      if (!prune(env, cpu, child, level - 1, tableVa + i * span, start, end, gather, acc)) continue;
      clearEntry(pt, env.seq, w);
      // Unhooked from the nonsensitive PGD too, before the caller's flush.
      if (level === 4) asiMirrorPgdEntry(env.mem.views, env.frame, env.seq, slot, i);
      acc.freed++;
      if (gather) gather.push(child);
      else freePgtablePage(env, cpu, child);
    }
  }
  return tableIsNone(env, slot);
}

function tableIsNone(env: PgtableEnv, slot: number): boolean {
  const pt = env.pt;
  for (let i = 0; i < PT_ENTRIES; i++) {
    const w = entryWord(slot, i);
    if (pt[w] !== 0 || pt[w + 1] !== 0) return false;
  }
  return true;
}
