// The page-cache reverse map (mm/rmap.c rmap_walk_file() over the
// address_space's i_mmap tree, include/linux/fs.h i_mmap_lock_*()): from a
// file page to every (mm, address) that may map it.
//
// Linux keeps an interval tree of the VMAs mapping each file; here the VMAs
// of every mm are scanned for the file (a few dozen slots per mm). What the
// tree's lock guarantees is kept exactly: every change to a VMA that maps a
// file (insert, remove, split, flag change, exit, fork's copy) is made with
// that file's i_mmap rwsem held for write (vma.ts), so a walker holding it
// for read sees whole VMAs, and a VMA it finds cannot be torn down (its page
// tables freed) until the walker is done: exit and munmap take the VMA out
// under the write lock before they free tables.
//
// Lock order, as mm/rmap.c's header: mmap_lock -> i_mmap_rwsem -> PTE lock.
// Reclaim and truncation come in at i_mmap without mmap_lock.

import { FRAME_STATE_MASK, FS_PAGETABLE } from '../../../native-layout/bits.js';
import {
  FILE_I_MMAP, FILE_MAX, FILE_STRIDE, FRAME_STRIDE, FR_FLAGS, VMA_END, VMA_FILE, VMA_FLAGS, VMA_PGOFF, VMA_START, VMA_STRIDE,
} from '../../../native-layout/fields.js';
import { downRead, downWrite, upRead, upWrite } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { mmPgd } from './mm.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { pteTablePfn } from './zap.js';
import { HeldTable, swWalkHold, swWalkReleaseLinked } from '../../check/sw-walk.js';
import { WALK_RMAP } from '../../check/walkers.js';
import { ptSlotOf } from '../../hw/ptstore.js';

/** This CPU's rmap walker: the PTE table lockPteOf locked (checked by unlockPteOf). */
const rmapHeld = new HeldTable();

const PAGE = 4096;

export class RmapError extends Error {
  override name = 'RmapError';
}

function iMmapAt(file: number): number {
  if (!(Number.isInteger(file) && file >= 0 && file < FILE_MAX)) throw new RmapError(`file ${file} has no i_mmap lock (files are 0..${FILE_MAX - 1})`);
  return file * FILE_STRIDE + FILE_I_MMAP;
}

/** i_mmap_lock_read(): rmap walkers (reclaim, truncation). */
export function iMmapLockRead(k: KernelCtx, file: number): void {
  downRead(k.views.file, iMmapAt(file));
}

export function iMmapUnlockRead(k: KernelCtx, file: number): void {
  upRead(k.views.file, iMmapAt(file));
}

/** i_mmap_lock_write(): a VMA mapping this file is about to change. */
export function iMmapLockWrite(k: KernelCtx, file: number): void {
  downWrite(k.views.file, iMmapAt(file));
}

export function iMmapUnlockWrite(k: KernelCtx, file: number): void {
  upWrite(k.views.file, iMmapAt(file));
}

/** Called for each (mm, page) that may map the file page (its PTE may be none, or map a copy). */
export type RmapVisit = (mm: number, vpn: number) => void;

/**
 * rmap_walk_file(): visit(mm, vpn) for every VMA of every mm that maps page
 * `index` of `file`. The caller holds i_mmap for read. Returns the number of
 * visits. Whether the PTE there really maps the page is the visitor's to
 * check, under the PTE lock (page_vma_mapped_walk): a private mapping may
 * hold an anonymous copy, or nothing yet.
 */
export function rmapWalkFile(k: KernelCtx, file: number, index: number, visit: RmapVisit): number {
  const v = k.vma;
  let n = 0;
  // vma.ts takes these locks, so the slots are indexed here rather than
  // through its helpers (no import cycle).
  for (let mm = 1; mm < k.maxMms; mm++) {
    for (let i = 0; i < k.maxVmas; i++) {
      const at = (mm * k.maxVmas + i) * VMA_STRIDE;
      if (v[at + VMA_FLAGS] === 0 || v[at + VMA_FILE] !== file) continue;
      const first = v[at + VMA_PGOFF];
      const start = v[at + VMA_START];
      if (index < first || index >= first + (v[at + VMA_END] - start)) continue;
      visit(mm, start + (index - first));
      n++;
    }
  }
  return n;
}

/**
 * page_vma_mapped_walk()'s locking, reduced to one 4 KiB PTE: takes the
 * lock of the PTE table covering vpn in mm and returns its store slot, or
 * -1 if there is no such table. Unlock with unlockPteOf(k, mm, vpn, slot).
 *
 * The table is found without a lock and may be unlinked before we hold its
 * lock (khugepaged retracting an empty table, retract.ts, takes the same
 * lock to do it): so the walk is repeated under the lock, and a table that
 * is no longer the one linked there is given up.
 */
export function lockPteOf(k: KernelCtx, mm: number, vpn: number): number {
  const root = mmPgd(k, mm);
  if (root < 0 || (k.frame[root * FRAME_STRIDE + FR_FLAGS] & FRAME_STATE_MASK) !== FS_PAGETABLE) return -1;
  const table = pteTablePfn(k, root, vpn * PAGE);
  if (table < 0) return -1;
  const slot = ptSlotOf(k.frame, table);
  pteLock(k, slot);
  // The re-walk is checked down to the PMD table (the VMA we found under
  // i_mmap keeps those); the PTE table it finds may be another than ours
  // (retracted and replaced), which we give up without looking inside.
  if (pteTablePfn(k, root, vpn * PAGE, WALK_RMAP, mm, false) !== table) {
    pteUnlock(k, slot);
    return -1;
  }
  swWalkHold(k, rmapHeld, table);
  return slot;
}

/**
 * page_vma_mapped_walk_done(): drops the PTE lock lockPteOf took, checking
 * first that the table is still the one it locked: a retraction that does
 * not take this lock could have freed it under us (8d3c106e19e8), and still
 * linked at vpn, whose flush the caller's zap used: an mremap moving the
 * whole table without i_mmap could have moved it (97113eb39fa7).
 */
export function unlockPteOf(k: KernelCtx, mm: number, vpn: number, slot: number): void {
  swWalkReleaseLinked(k, rmapHeld, WALK_RMAP, mm, vpn * PAGE, pteTablePfn(k, mmPgd(k, mm), vpn * PAGE));
  pteUnlock(k, slot);
}
