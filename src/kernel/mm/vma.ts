// Virtual memory areas (struct vm_area_struct) of an mm: maxVmas slots per
// mm in the vma region, unsorted (mm/mmap.c keeps a maple tree; a scan over
// a few dozen slots is all the workloads need). Writers hold mmap_lock for
// write, readers (the fault path) for read. Addresses are page numbers.
//
// A VMA that maps a file is also in that file's reverse map (rmap.ts),
// walked by reclaim and truncation without mmap_lock. So every change to
// one is made here with the file's i_mmap lock held for write
// (vma_link_file / unlink_file_vma / __split_vma in mm/vma.c): a walker
// never reads a half-written record, e.g. a split's new tail with the old
// pgoff, which would send it to the wrong address.

import { VM_FILE, VM_HUGETLB, VM_MSHARE, VM_SHARED, VM_VALID } from '../../../native-layout/bits.js';
import { VMA_END, VMA_FILE, VMA_FLAGS, VMA_PGOFF, VMA_START, VMA_STRIDE } from '../../../native-layout/fields.js';
import type { KernelCtx } from '../ctx.js';
import { EEXIST, ENOMEM } from './pgtable.js';
import { iMmapLockWrite, iMmapUnlockWrite } from './rmap.js';

/** Word index of slot i of mm's VMAs. */
export function vmaAt(k: KernelCtx, mm: number, i: number): number {
  return (mm * k.maxVmas + i) * VMA_STRIDE;
}

/** find_vma() for an address inside the area: the slot's word index, or -1. */
export function findVma(k: KernelCtx, mm: number, vpn: number): number {
  const v = k.vma;
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    if (v[at + VMA_FLAGS] !== 0 && v[at + VMA_START] <= vpn && vpn < v[at + VMA_END]) return at;
  }
  return -1;
}

function freeSlot(k: KernelCtx, mm: number): number {
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    if (k.vma[at + VMA_FLAGS] === 0) return at;
  }
  return -1;
}

/** Any area overlapping [start, end)? */
export function vmaOverlaps(k: KernelCtx, mm: number, start: number, end: number): boolean {
  const v = k.vma;
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    if (v[at + VMA_FLAGS] !== 0 && v[at + VMA_START] < end && start < v[at + VMA_END]) return true;
  }
  return false;
}

/** Adds an area (MAP_FIXED_NOREPLACE semantics): EEXIST on overlap, ENOMEM with no free slot. */
export function vmaInsert(k: KernelCtx, mm: number, start: number, end: number, flags: number, file = -1, pgoff = 0): number {
  if (vmaOverlaps(k, mm, start, end)) return EEXIST;
  const at = freeSlot(k, mm);
  if (at < 0) return ENOMEM;
  const v = k.vma;
  if (file >= 0) iMmapLockWrite(k, file);
  v[at + VMA_START] = start;
  v[at + VMA_END] = end;
  v[at + VMA_FILE] = file;
  v[at + VMA_PGOFF] = pgoff;
  v[at + VMA_FLAGS] = flags | VM_VALID;
  if (file >= 0) iMmapUnlockWrite(k, file);
  return 0;
}

/** Copies slot `from` into the free slot `to` (of another mm: fork's vm_area_dup + vma_link). */
export function vmaCopyTo(k: KernelCtx, from: number, to: number): void {
  const v = k.vma;
  const file = v[from + VMA_FILE];
  if (file >= 0) iMmapLockWrite(k, file);
  for (let w = 0; w < VMA_STRIDE; w++) v[to + w] = v[from + w];
  if (file >= 0) iMmapUnlockWrite(k, file);
}

/** Frees slot `at` (the whole area goes: exit_mmap's remove_vma). */
export function vmaErase(k: KernelCtx, at: number): void {
  const file = k.vma[at + VMA_FILE];
  if (file >= 0) iMmapLockWrite(k, file);
  k.vma[at + VMA_FLAGS] = 0;
  if (file >= 0) iMmapUnlockWrite(k, file);
}

/**
 * Takes [start, end) out of mm's areas (the VMA half of do_vmi_munmap):
 * areas inside go, areas across an edge shrink, an area around the whole
 * range splits in two. ENOMEM (nothing changed) if a split finds no slot.
 */
export function vmaRemoveRange(k: KernelCtx, mm: number, start: number, end: number): number {
  const v = k.vma;
  // A split needs a slot: check before changing anything.
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    if (v[at + VMA_FLAGS] !== 0 && v[at + VMA_START] < start && v[at + VMA_END] > end && freeSlot(k, mm) < 0) return ENOMEM;
  }
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    if (v[at + VMA_FLAGS] === 0) continue;
    const vs = v[at + VMA_START];
    const ve = v[at + VMA_END];
    if (ve <= start || vs >= end) continue;
    const file = v[at + VMA_FILE];
    if (file >= 0) iMmapLockWrite(k, file);
    if (vs < start && ve > end) {
      const tail = freeSlot(k, mm);
      v[tail + VMA_START] = end;
      v[tail + VMA_END] = ve;
      v[tail + VMA_FILE] = v[at + VMA_FILE];
      v[tail + VMA_PGOFF] = v[at + VMA_PGOFF] + (end - vs);
      v[tail + VMA_FLAGS] = v[at + VMA_FLAGS];
      v[at + VMA_END] = start;
    } else if (vs < start) {
      v[at + VMA_END] = start;
    } else if (ve > end) {
      v[at + VMA_PGOFF] += end - vs;
      v[at + VMA_START] = end;
    } else {
      v[at + VMA_FLAGS] = 0;
    }
    if (file >= 0) iMmapUnlockWrite(k, file);
  }
  return 0;
}

/**
 * Splits areas at start and end so that [start, end) is made of whole areas
 * (split_vma, for mprotect). ENOMEM (possibly half done, harmless: a split
 * changes no mapping) when out of slots.
 */
export function vmaSplitAt(k: KernelCtx, mm: number, vpn: number): number {
  const at = findVma(k, mm, vpn);
  if (at < 0) return 0;
  const v = k.vma;
  const vs = v[at + VMA_START];
  if (vs === vpn) return 0;
  const tail = freeSlot(k, mm);
  if (tail < 0) return ENOMEM;
  const file = v[at + VMA_FILE];
  if (file >= 0) iMmapLockWrite(k, file);
  v[tail + VMA_START] = vpn;
  v[tail + VMA_END] = v[at + VMA_END];
  v[tail + VMA_FILE] = file;
  v[tail + VMA_PGOFF] = v[at + VMA_PGOFF] + (vpn - vs);
  v[tail + VMA_FLAGS] = v[at + VMA_FLAGS];
  v[at + VMA_END] = vpn;
  if (file >= 0) iMmapUnlockWrite(k, file);
  return 0;
}

export function vmaEnd(k: KernelCtx, at: number): number {
  return k.vma[at + VMA_END];
}

export function vmaFlags(k: KernelCtx, at: number): number {
  return k.vma[at + VMA_FLAGS];
}

/** vm_flags_reset() under the file's i_mmap lock (mprotect's vma_set_page_prot path). */
export function setVmaFlags(k: KernelCtx, at: number, flags: number): void {
  const file = k.vma[at + VMA_FILE];
  if (file >= 0) iMmapLockWrite(k, file);
  k.vma[at + VMA_FLAGS] = flags | VM_VALID;
  if (file >= 0) iMmapUnlockWrite(k, file);
}

/**
 * Private anonymous memory: not a file, not shared, not an mshare or
 * hugetlb area. What khugepaged's collapse and kcompactd may move.
 */
export function vmaPrivateAnon(vmFlags: number): boolean {
  return (vmFlags & (VM_FILE | VM_SHARED | VM_MSHARE | VM_HUGETLB)) === 0;
}
