// get_user_pages_fast() (mm/gup.c gup_fast() and gup_fast_pte_range()),
// reduced to 4 KiB pages under one PMD of an mm this CPU runs: the lockless
// walk that direct I/O, futexes and process_vm_readv use to pin user pages.
//
// It takes no lock, not even mmap_lock: with interrupts off it reads the
// PGD, PUD and PMD entries and the PTE, takes a speculative reference on the
// page (only if the page is not already free: refcount above zero), then
// reads the PMD entry and the PTE again and gives up if either moved
// (70cbc3cc78a9 added the PMD recheck against khugepaged's collapse). What
// keeps the tables it walks from being freed under it is that interrupts
// are off: a table is freed only after every CPU of the mm acknowledged the
// flush IPI, or, when the flush was by INVLPGB and sent none, after an
// explicit IPI round (src/kernel/tlb/table-free.ts).
//
// Checked as a software walk (src/check/sw-walk.ts): each table it steps
// into must be a live table of the mm, and the PTE table must still be the
// same incarnation when the walk ends; a table freed under the walk is
// sw-walk-freed-table, walker gup_fast.

import { PTE_P, PTE_PS, PTE_RW, PTE_US } from '../../../native-layout/bits.js';
import { HeldTable, swWalkHold, swWalkRelease, swWalkStep } from '../../check/sw-walk.js';
import { WALK_GUP_FAST } from '../../check/walkers.js';
import { entryWord, ptSlotOf, readHi, readLo } from '../../hw/ptstore.js';
import { ptIndex, ptePfn } from '../../hw/pte.js';
import type { KernelCtx } from '../ctx.js';
import { SITE_GUP_FAST, kernelPoint } from '../points.js';
import { localIrqRestore, localIrqSave } from '../smp.js';
import { mmPgd } from './mm.js';
import { getPageUnlessZero, putPage } from './page-ref.js';

const PAGE = 4096;
const PTRS_PER_PTE = 512;

/** This CPU's gup_fast walk: the PTE table it reads inside (checked at the end). */
const gupHeld = new HeldTable();

/**
 * get_user_pages_fast() for up to `nr` pages from vpn of mm (all inside
 * one PTE table: the caller clips), which must be the mm this CPU has
 * loaded (gup_fast walks current->mm). Pins them in order into `out` (a
 * reference on each; drop them with putPage) and stops at the first it
 * cannot pin locklessly: not mapped (or not writable, for a write), mapped
 * huge, or changed under the walk, which the slow path would handle.
 * Returns how many it pinned. Interrupts must be on; they are off inside.
 */
export function getUserPagesFast(k: KernelCtx, mm: number, vpn: number, nr: number, write: boolean, out: Int32Array): number {
  const flags = localIrqSave(k.smp);
  const n = gupFastPteRange(k, mm, vpn, Math.min(nr, out.length, PTRS_PER_PTE - (vpn % PTRS_PER_PTE)), write, out);
  localIrqRestore(k.smp, flags);
  return n;
}

/** The walk itself, interrupts off. */
function gupFastPteRange(k: KernelCtx, mm: number, vpn: number, nr: number, write: boolean, out: Int32Array): number {
  const pt = k.env.pt;
  const va = vpn * PAGE;
  let table = mmPgd(k, mm);
  let pmdWord = -1;
  let pmdLo = 0;
  for (let level = 4; level > 1; level--) {
    const w = entryWord(ptSlotOf(k.frame, table), ptIndex(va, level));
    const lo = readLo(pt, w);
    if ((lo & PTE_P) === 0 || (lo & PTE_PS) !== 0) return 0;
    const next = ptePfn(lo, readHi(pt, w));
    if (!swWalkStep(k, WALK_GUP_FAST, mm, va, level - 1, next)) return 0;
    pmdWord = w;
    pmdLo = lo;
    table = next;
  }
  // The slot is read while the table is known live; if the table is freed
  // from here on, what we read below is whatever the slot holds next, as a
  // real walk would read a reused page.
  const slot = ptSlotOf(k.frame, table);
  swWalkHold(k, gupHeld, table);
  kernelPoint(SITE_GUP_FAST);
  let n = 0;
  for (; n < nr; n++) {
    const ptw = entryWord(slot, (vpn + n) % PTRS_PER_PTE);
    const lo = readLo(pt, ptw);
    const hi = readHi(pt, ptw);
    if ((lo & (PTE_P | PTE_US)) !== (PTE_P | PTE_US) || (write && (lo & PTE_RW) === 0)) break;
    const page = ptePfn(lo, hi);
    if (page >= k.env.frames || !getPageUnlessZero(k, page)) break;
    // Recheck: the PMD still names this table and the PTE still maps the
    // page; otherwise the reference may be on a page already on its way
    // to being freed or reused, and is dropped.
    if (readLo(pt, pmdWord) !== pmdLo || readLo(pt, ptw) !== lo || readHi(pt, ptw) !== hi) {
      putPage(k, page);
      break;
    }
    out[n] = page;
  }
  if (!swWalkRelease(k, gupHeld, WALK_GUP_FAST, mm, va)) {
    for (let i = 0; i < n; i++) putPage(k, out[i]!);
    return 0;
  }
  return n;
}
