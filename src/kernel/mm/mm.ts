// struct mm_struct lifetime, as kernel/fork.c mm_alloc()/mmput()/mmdrop()
// and include/linux/sched/mm.h mmget()/mmgrab(). Two counts: mm_users (tasks
// using the address space; the last one tears the mappings down in
// exit_mmap) and mm_count (the struct itself: mm_users holds one for all of
// them, and each CPU whose active_mm it is holds one, because a lazy CPU
// still has the PGD in CR3). The PGD and the record are freed at the last
// mm_count.

import {
  INIT_MM, MM_DEAD, MM_FREE, MM_LIVE, MM_NEW,
} from '../../../native-layout/bits.js';
import {
  KERNEL_LAST_CTX_ID, KERNEL_LAST_PID, MM_ANON_PAGES, MM_COUNT, MM_CPUMASK, MM_CTX_ID, MM_MMAP_LOCK,
  MM_NEXT_TRIM_CPUMASK, MM_PGD, MM_PID, MM_PTL, MM_SPEC_PAGES, MM_SPEC_START, MM_STATE, MM_STRIDE, MM_TLB_FLUSH_BATCHED,
  MM_TLB_FLUSH_PENDING, MM_TLB_GEN, MM_USERS, VMA_FLAGS, VMA_STRIDE, MM_ASI_PGD,
} from '../../../native-layout/fields.js';
import type { KernelCtx } from '../ctx.js';
import { ENOMEM, cloneKernelPgd, freePgtablePage, pgdAlloc } from './pgtable.js';
import { setPtOwner } from '../../check/sw-walk.js';
import { ptSlotOf } from '../../hw/ptstore.js';
import { mmLocalRegionEnabled, mmLocalRegionSetup, mmLocalRegionTeardown } from '../ephmap/region.js';
import { destroyContextFreeGlobalAsid } from '../tlb/global-asid.js';

export class MmStateError extends Error {
  override name = 'MmStateError';
}

export function mmPgd(k: KernelCtx, mm: number): number {
  return k.mm[mm * MM_STRIDE + MM_PGD];
}

/** Index of the mmap_lock rwsem in the mm region. */
export function mmapLockAt(mm: number): number {
  return mm * MM_STRIDE + MM_MMAP_LOCK;
}

/** Index of page_table_lock in the mm region. */
export function ptlAt(mm: number): number {
  return mm * MM_STRIDE + MM_PTL;
}

/** Fills a fresh record: a new ctx_id (never reused), generation 0, empty cpumask. */
export function mmInitRecord(k: KernelCtx, mm: number, pgd: number, users: number, count: number): void {
  const m = k.mm;
  const at = mm * MM_STRIDE;
  for (let i = 0; i < MM_STRIDE; i++) if (i !== MM_STATE) m[at + i] = 0;
  m[at + MM_CTX_ID] = Atomics.add(k.kernel, KERNEL_LAST_CTX_ID, 1) + 1;
  m[at + MM_PID] = Atomics.add(k.kernel, KERNEL_LAST_PID, 1) + 1;
  m[at + MM_TLB_GEN] = 0;
  m[at + MM_CPUMASK] = 0;
  m[at + MM_CPUMASK + 1] = 0;
  m[at + MM_PGD] = pgd;
  m[at + MM_USERS] = users;
  m[at + MM_COUNT] = count;
  m[at + MM_TLB_FLUSH_PENDING] = 0;
  m[at + MM_TLB_FLUSH_BATCHED] = 0;
  m[at + MM_NEXT_TRIM_CPUMASK] = 0;
  m[at + MM_SPEC_START] = 0;
  m[at + MM_SPEC_PAGES] = 0;
  m[at + MM_ANON_PAGES] = 0;
  m[at + MM_ASI_PGD] = -1;
  const vbase = mm * k.maxVmas * VMA_STRIDE;
  for (let i = 0; i < k.maxVmas; i++) k.vma[vbase + i * VMA_STRIDE + VMA_FLAGS] = 0;
}

/**
 * mm_alloc(): a new address space with one user and a PGD empty but for the
 * kernel half (shared with init_mm), or
 * ENOMEM (no free record, no memory for the PGD).
 */
export function mmAlloc(k: KernelCtx): number {
  const m = k.mm;
  for (let mm = 1; mm < k.maxMms; mm++) {
    const at = mm * MM_STRIDE + MM_STATE;
    if (m[at] !== MM_FREE || Atomics.compareExchange(m, at, MM_FREE, MM_NEW) !== MM_FREE) continue;
    const pgd = pgdAlloc(k.env, k.cpu);
    if (pgd < 0) {
      Atomics.store(m, at, MM_FREE);
      return ENOMEM;
    }
    // Every table below this PGD is this mm's (checked software walks).
    setPtOwner(k.views, ptSlotOf(k.frame, pgd), mm);
    // Kernel half shared with init_mm (pgd_alloc): a fixmap slot mapped
    // later is present here too. mmdrop frees only the PGD page itself.
    cloneKernelPgd(k.env, pgd, m[INIT_MM * MM_STRIDE + MM_PGD]);
    // mm_users stays 0 until the record is published below. Records are
    // reused by index, and a kernel thread scanning them (khugepaged,
    // kthread.ts) checks MM_LIVE and then calls mmget_not_zero: the two
    // are not one atomic step, so the LIVE it saw may be the previous
    // incarnation's. With mm_users 1 from here, its increment would land
    // on this half-built record, and a failure below frees the PGD and
    // the record under that reference (khugepaged then retracts tables of
    // a freed PGD, and its mmput drops the next incarnation's user).
    // At 0, mmget_not_zero fails until the record is complete.
    mmInitRecord(k, mm, pgd, 0, 1);
    // The mm-local region (ephmap, mermap) lives in this PGD's own slot,
    // with every CPU's tables allocated now so that no get ever allocates.
    // Before the nonsensitive PGD is built: it copies the slot's entry.
    if (mmLocalRegionEnabled(k) && mmLocalRegionSetup(k, mm) < 0) {
      mmLocalRegionTeardown(k, mm, pgd);
      freePgtablePage(k.env, k.cpu, pgd);
      Atomics.store(m, at, MM_FREE);
      return ENOMEM;
    }
    // The nonsensitive address space (struct asi) lives as long as the mm.
    if (k.asi.mmCreated(k, mm) < 0) {
      mmLocalRegionTeardown(k, mm, pgd);
      freePgtablePage(k.env, k.cpu, pgd);
      Atomics.store(m, at, MM_FREE);
      return ENOMEM;
    }
    // The first user: no increment can have raced with this store (each
    // needs mm_users > 0, and it has been 0 since the last mmput).
    Atomics.store(m, mm * MM_STRIDE + MM_USERS, 1);
    Atomics.store(m, at, MM_LIVE);
    return mm;
  }
  return ENOMEM;
}

/**
 * The oracle's check at context_switch(): task `tid`, about to run, holds
 * an mm_users reference on `mm`, so the record must be live (not being
 * built, torn down or reused) and its PGD a page. A task scheduled on an
 * address space whose last user is gone would run on freed page tables
 * (a walk through PGD -1, or through a page reused for something else).
 * Throws MmStateError naming the task, the mm and its counts.
 */
export function mmCheckSchedulable(k: KernelCtx, tid: number, mm: number): void {
  const at = mm * MM_STRIDE;
  const state = Atomics.load(k.mm, at + MM_STATE);
  if (state === MM_LIVE && k.mm[at + MM_PGD] >= 0) return;
  throw new MmStateError(
    `CPU ${k.cpu}: task ${tid} switched to mm ${mm} in state ${MM_STATE_NAMES[state] ?? state} `
    + `(pgd ${k.mm[at + MM_PGD]}, mm_users ${Atomics.load(k.mm, at + MM_USERS)}, mm_count ${Atomics.load(k.mm, at + MM_COUNT)}): `
    + 'a task runs on an address space whose last user reference is gone',
  );
}

const MM_STATE_NAMES: Record<number, string> = { [MM_FREE]: 'free', [MM_LIVE]: 'live', [MM_DEAD]: 'dead', [MM_NEW]: 'new' };

/** mmget(): one more task uses the address space (the caller already holds a user). */
export function mmget(k: KernelCtx, mm: number): void {
  Atomics.add(k.mm, mm * MM_STRIDE + MM_USERS, 1);
}

/** mmget_not_zero(): a reference only while the address space still has users. */
export function mmgetNotZero(k: KernelCtx, mm: number): boolean {
  const at = mm * MM_STRIDE + MM_USERS;
  let u = Atomics.load(k.mm, at);
  while (u > 0) {
    const seen = Atomics.compareExchange(k.mm, at, u, u + 1);
    // users > 0 at the exchange: exit_mmap (which runs at 0) has not begun.
    if (seen === u) return true;
    u = seen;
  }
  return false;
}

/** mmgrab(): keep the struct (and the PGD) alive. */
export function mmgrab(k: KernelCtx, mm: number): void {
  Atomics.add(k.mm, mm * MM_STRIDE + MM_COUNT, 1);
}

/**
 * mmdrop(): at the last reference, free the PGD and the record. Every lower
 * table went in exit_mmap, after a flush that reached lazy CPUs too; no CPU
 * still has this PGD in CR3, since each one that did held a count.
 */
export function mmdrop(k: KernelCtx, mm: number): void {
  const at = mm * MM_STRIDE;
  const left = Atomics.sub(k.mm, at + MM_COUNT, 1) - 1;
  if (left > 0) return;
  if (left < 0) throw new MmStateError(`mm ${mm}: mm_count dropped below zero`);
  if (Atomics.load(k.mm, at + MM_STATE) !== MM_DEAD) throw new MmStateError(`mm ${mm}: last mm_count dropped while it still has users`);
  // The region's tables go first: their unhook is mirrored into the
  // nonsensitive PGD, which goes next.
  mmLocalRegionTeardown(k, mm, k.mm[at + MM_PGD]);
  k.asi.mmDestroyed(k, mm);
  // destroy_context(): the global ASID goes to the freed set, reused only
  // after the next reset flush (the dead mm's entries may still be cached).
  destroyContextFreeGlobalAsid(k, mm);
  freePgtablePage(k.env, k.cpu, k.mm[at + MM_PGD]);
  k.mm[at + MM_PGD] = -1;
  Atomics.store(k.mm, at + MM_STATE, MM_FREE);
}
