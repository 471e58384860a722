// The mermap, the ephmap's 2026 successor (bjackman/linux mm/mermap.c:
// mermap_alloc(), __mermap_get(), __mermap_put(), mermap_get_reserved();
// include/linux/mermap_types.h). Per (mm, CPU) a window of MERMAP_PAGES
// pages in the mm-local region (kernel/ephmap/region.ts) with a bump
// pointer and 4 allocation-tracking slots; its last page is reserved for
// mermapGetReserved, which always succeeds.
//
// The trick is where the flush goes. Put does not flush: it leaves a
// non-present sentinel PTE and the space it freed becomes flush-pending
// (everything below next that no live allocation covers). Allocation goes
// above the highest live allocation only, so a pending address is never
// handed out again until the window is exhausted; then it rewinds to just
// above the highest live allocation and does ONE local flush
// (arch_mermap_flush_tlb, on x86 __flush_tlb_all) that retires every
// pending address at once. No shootdown ever: only this CPU touches its
// window architecturally. The author's KUnit test asserts 0 flushes before
// the reuse and exactly 1 after; test/ephmap/mermap-contract.test.ts does
// the same here.
//
// Contract for users (mermap.c's comment on mermap_get): map only memory
// the current process owns, and fully flush the region before freeing the
// mapped pages (mermapFlushBeforeFree), since a pending entry still
// translates to the page until the next wrap.
//
// Simplification: the reserved page has its own tracking word instead of
// being a page the bump allocator may also reach (mermap.c lets the
// reserved get use the last page only through the same allocator, which
// fails once all 4 slots are taken); SEMANTICS §7 asks for a reserved page
// that always succeeds, which needs a fifth tracking entry.

import { PTE_A, PTE_D, PTE_P, PTE_RW } from '../../../native-layout/bits.js';
import { C } from '../../../native-layout/counters.js';
import {
  CPU_PREEMPT_COUNT, MER_BASE, MER_END, MER_FLUSHES, MER_IN_USE, MER_NEXT, MER_RES_IN_USE, MER_RES_PENDING,
  MM_LOCAL_REGION, MM_PGD, MM_STRIDE, TLB_FILL_GEN, TLB_PFN,
} from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import { V_EPHMAP, reportViolation } from '../../check/oracle.js';
import { INVPCID_ALL_INCL_GLOBAL } from '../../hw/mmu.js';
import { setEntry } from '../../hw/ptstore.js';
import { PROT_NX, pteHi, pteLo } from '../../hw/pte.js';
import type { KernelCtx } from '../ctx.js';
import { ephemeralMarkStale } from '../ephmap/mitigation.js';
import { MERMAP_FIRST, MERMAP_PAGES, SENTINEL_HI, SENTINEL_LO, cpuWindowBase, ephemAt, windowPteWord } from '../ephmap/region.js';
import { SITE_FLUSH_DONE, SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { EPH_MERMAP, EV_EPH_MAP, EV_EPH_UNMAP } from '../../trace/events.js';

const VA_SPLIT = 2 ** 32;

const PAGE = 4096;
const DIV_4K = 2 ** 12;
const DIV_VPNHI = 2 ** 32;
/** Allocation-tracking slots per (mm, CPU). */
export const MERMAP_ALLOCS = 4;
/** The reserved page's offset in the window (the last page). */
export const MERMAP_RESERVED = MERMAP_PAGES - 1;
/** mermapGet's failure: no space even after a flush, or no free tracking slot. */
export const MERMAP_FAIL = -1;
const BUG_NO_WRAP_FLUSH = BUG['mermap-no-wrap-flush']!;
const BUG_FREE_WHILE_PENDING = BUG['mermap-free-while-pending']!;

export class MermapError extends Error {
  override name = 'MermapError';
}

/** Address of page p (window offset) of cpu's mermap window. */
export function mermapVa(cpu: number, page: number): number {
  return cpuWindowBase(cpu) + (MERMAP_FIRST + page) * PAGE;
}

function requireRegion(k: KernelCtx, mm: number): void {
  if (k.mm[mm * MM_STRIDE + MM_LOCAL_REGION] === 0) throw new MermapError(`mm ${mm} has no mm-local region (the scenario must enable it before creating processes)`);
}

/** Highest end of a live allocation of the window at rec (0 if none). */
function liveTop(e: Int32Array, rec: number): number {
  let top = 0;
  for (let i = 0; i < MERMAP_ALLOCS; i++) {
    if (Atomics.load(e, rec + MER_IN_USE + i) !== 0) top = Math.max(top, e[rec + MER_END + i]!);
  }
  return top;
}

/**
 * arch_mermap_flush_tlb(): x86's __flush_tlb_all on this CPU only, then
 * oracle §9.3 for the mermap: no page at or above `from` (the rewound
 * space, free and about to be reused) is still in the local TLB.
 * mermap-no-wrap-flush skips the flush: the next allocation at a rewound
 * address reads the previous page through the stale entry.
 */
function mermapFlushTlb(k: KernelCtx, rec: number, from: number, bug: boolean): void {
  const e = k.views.ephem;
  if (!bug) {
    k.mmu.invpcid(INVPCID_ALL_INCL_GLOBAL, 0);
    k.counters[k.countersAt + C.flushesLocal] += 1;
    k.counters[k.countersAt + C.flushesFull] += 1;
    e[rec + MER_FLUSHES] = e[rec + MER_FLUSHES]! + 1;
    e[rec + MER_RES_PENDING] = 0;
    kernelPoint(SITE_FLUSH_DONE);
  }
  const mmu = k.mmu;
  for (let p = from; p < MERMAP_RESERVED; p++) {
    const va = mermapVa(k.cpu, p);
    const vpn = Math.floor(va / DIV_4K);
    const t = mmu.tlb.lookup4k(vpn % DIV_VPNHI | 0, Math.floor(vpn / DIV_VPNHI), mmu.cr3Pcid);
    if (t < 0) continue;
    const w = mmu.walker;
    reportViolation(k.views, k.cpu, V_EPHMAP, va, mmu.tlb.t4[t + TLB_PFN]!, mmu.tlb.t4[t + TLB_FILL_GEN]!, -1, w.task, w.op, k.cpu);
    return;
  }
}

/** Writes npages PTEs from pfn at window page `page` of this CPU (over sentinels). */
function mapPages(k: KernelCtx, mm: number, page: number, pfn: number, npages: number): void {
  const root = k.mm[mm * MM_STRIDE + MM_PGD];
  const prot = PTE_P | PTE_RW | PTE_A | PTE_D;
  for (let i = 0; i < npages; i++) {
    setEntry(k.env.pt, k.env.seq, windowPteWord(k, root, k.cpu, MERMAP_FIRST + page + i), pteLo(pfn + i, prot), pteHi(pfn + i, PROT_NX));
    kernelPoint(SITE_PTE_WRITE);
  }
  k.counters[k.countersAt + C.ephmapMaps] += 1;
  const va = mermapVa(k.cpu, page);
  k.smp.trace.emit(EV_EPH_MAP, va % VA_SPLIT | 0, ((va / VA_SPLIT) | 0) | (EPH_MERMAP << 16), pfn);
}

/**
 * mermap_get(): maps npages frames from pfn in this CPU's window of mm
 * (the current process) for task tid and returns the address, or
 * MERMAP_FAIL: the window has no room even after a flush, or all 4 slots
 * are live ("expected to fail very often": fall back to
 * mermapGetReserved or the physmap). Task context with migration disabled
 * (sched/migrate.ts) until mermapPut. Never allocates, never shoots down.
 */
export function mermapGet(k: KernelCtx, mm: number, pfn: number, npages: number, tid: number): number {
  requireRegion(k, mm);
  const e = k.views.ephem;
  const rec = ephemAt(k, mm, k.cpu);
  const end = MERMAP_RESERVED;
  if (npages < 1 || npages > end) return MERMAP_FAIL;
  if (e[rec + MER_NEXT]! + npages > end) {
    // Out of fresh space. Everything between the highest live allocation
    // and next was put and is flush-pending: one local flush retires all
    // of it, and the bump pointer rewinds there. Never below a live
    // allocation: its entries are in use.
    const top = liveTop(e, rec);
    if (npages > end - top) {
      k.counters[k.countersAt + C.ephmapFallbacks] += 1;
      return MERMAP_FAIL;
    }
    mermapFlushTlb(k, rec, top, injected[BUG_NO_WRAP_FLUSH] !== 0);
    k.counters[k.countersAt + C.mermapWraps] += 1;
    e[rec + MER_NEXT] = top;
  }
  let slot = -1;
  for (let i = 0; i < MERMAP_ALLOCS; i++) {
    if (Atomics.load(e, rec + MER_IN_USE + i) === 0) {
      slot = i;
      break;
    }
  }
  if (slot < 0) {
    k.counters[k.countersAt + C.ephmapFallbacks] += 1;
    return MERMAP_FAIL;
  }
  const base = e[rec + MER_NEXT]!;
  e[rec + MER_BASE + slot] = base;
  e[rec + MER_END + slot] = base + npages;
  Atomics.store(e, rec + MER_IN_USE + slot, tid + 1);
  e[rec + MER_NEXT] = base + npages;
  mapPages(k, mm, base, pfn, npages);
  return mermapVa(k.cpu, base);
}

/**
 * mermap_get_reserved(): the window's last page, for one frame. Always
 * succeeds; the caller must have preemption off (a second user on this
 * CPU could otherwise take the same page). If the page's previous mapping
 * is still flush-pending it is retired first with one INVLPG (the page is
 * reused at the same address, outside the bump allocator's wrap).
 */
export function mermapGetReserved(k: KernelCtx, mm: number, pfn: number, tid: number): number {
  requireRegion(k, mm);
  if (k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT]! <= 0) throw new MermapError(`CPU ${k.cpu}: mermap_get_reserved needs preemption off`);
  const e = k.views.ephem;
  const rec = ephemAt(k, mm, k.cpu);
  if (Atomics.load(e, rec + MER_RES_IN_USE) !== 0) throw new MermapError(`CPU ${k.cpu}: the reserved mermap page of mm ${mm} is already in use (preemption was off?)`);
  if (e[rec + MER_RES_PENDING] !== 0) {
    k.mmu.invlpg(mermapVa(k.cpu, MERMAP_RESERVED));
    k.counters[k.countersAt + C.flushesLocal] += 1;
    e[rec + MER_RES_PENDING] = 0;
  }
  Atomics.store(e, rec + MER_RES_IN_USE, tid + 1);
  mapPages(k, mm, MERMAP_RESERVED, pfn, 1);
  return mermapVa(k.cpu, MERMAP_RESERVED);
}

/**
 * mermap_put(): writes the non-present sentinel over each page (so table
 * walkers keep the table) and frees the tracking slot; the space is now
 * flush-pending. No flush here: that is the point.
 */
export function mermapPut(k: KernelCtx, mm: number, va: number): void {
  const e = k.views.ephem;
  const rec = ephemAt(k, mm, k.cpu);
  const page = Math.round((va - mermapVa(k.cpu, 0)) / PAGE);
  const root = k.mm[mm * MM_STRIDE + MM_PGD];
  let first = page;
  let n = 1;
  let resv = false;
  if (page === MERMAP_RESERVED && Atomics.load(e, rec + MER_RES_IN_USE) !== 0) {
    resv = true;
  } else {
    let slot = -1;
    for (let i = 0; i < MERMAP_ALLOCS; i++) {
      if (Atomics.load(e, rec + MER_IN_USE + i) !== 0 && e[rec + MER_BASE + i] === page) slot = i;
    }
    if (slot < 0) throw new MermapError(`CPU ${k.cpu}: mermap_put of va 0x${va.toString(16)}, which no live allocation of this CPU's window starts at`);
    first = e[rec + MER_BASE + slot]!;
    n = e[rec + MER_END + slot]! - first;
    k.smp.trace.emit(EV_EPH_UNMAP, va % VA_SPLIT | 0, ((va / VA_SPLIT) | 0) | (EPH_MERMAP << 16), n);
    for (let i = 0; i < n; i++) {
      setEntry(k.env.pt, k.env.seq, windowPteWord(k, root, k.cpu, MERMAP_FIRST + first + i), SENTINEL_LO, SENTINEL_HI);
      kernelPoint(SITE_PTE_WRITE);
    }
    // Stale from here on (see ephmapPut for why not at get): the pending
    // entries of this CPU, and any speculative ones elsewhere.
    ephemeralMarkStale(k, mm);
    Atomics.store(e, rec + MER_IN_USE + slot, 0);
    return;
  }
  if (resv) {
    k.smp.trace.emit(EV_EPH_UNMAP, va % VA_SPLIT | 0, ((va / VA_SPLIT) | 0) | (EPH_MERMAP << 16), 1);
    setEntry(k.env.pt, k.env.seq, windowPteWord(k, root, k.cpu, MERMAP_FIRST + MERMAP_RESERVED), SENTINEL_LO, SENTINEL_HI);
    kernelPoint(SITE_PTE_WRITE);
    e[rec + MER_RES_PENDING] = 1;
    ephemeralMarkStale(k, mm);
    Atomics.store(e, rec + MER_RES_IN_USE, 0);
  }
}

/** Whether this CPU's window of mm has put space no flush retired yet. */
export function mermapPending(k: KernelCtx, mm: number): boolean {
  const e = k.views.ephem;
  const rec = ephemAt(k, mm, k.cpu);
  if (e[rec + MER_RES_PENDING] !== 0) return true;
  const next = e[rec + MER_NEXT]!;
  for (let p = 0; p < next; p++) {
    let live = false;
    for (let i = 0; i < MERMAP_ALLOCS; i++) {
      if (Atomics.load(e, rec + MER_IN_USE + i) !== 0 && p >= e[rec + MER_BASE + i]! && p < e[rec + MER_END + i]!) live = true;
    }
    if (!live) return true;
  }
  return false;
}

/**
 * The user's side of the contract: "fully flush the region before freeing
 * the pages mapped here". If this CPU's window has pending space, one local
 * flush retires it and the bump pointer rewinds above the live allocations.
 * mermap-free-while-pending skips it: the page goes back to the allocator
 * while this CPU still translates a pending address to it, so its next
 * owner's data sits behind this process's window until the next wrap.
 */
export function mermapFlushBeforeFree(k: KernelCtx, mm: number): void {
  if (injected[BUG_FREE_WHILE_PENDING] !== 0 || !mermapPending(k, mm)) return;
  const e = k.views.ephem;
  const rec = ephemAt(k, mm, k.cpu);
  const top = liveTop(e, rec);
  mermapFlushTlb(k, rec, top, false);
  e[rec + MER_NEXT] = top;
}

/**
 * Oracle for the contract, at the free: this CPU's window translates no
 * address to pfn any more (a live mapping of it would be a use after free
 * of its own; a pending one, the leak above). Call right before freeing.
 */
export function checkMermapFreed(k: KernelCtx, pfn: number): void {
  const mmu = k.mmu;
  for (let p = 0; p < MERMAP_PAGES; p++) {
    const va = mermapVa(k.cpu, p);
    const vpn = Math.floor(va / DIV_4K);
    const t = mmu.tlb.lookup4k(vpn % DIV_VPNHI | 0, Math.floor(vpn / DIV_VPNHI), mmu.cr3Pcid);
    if (t < 0 || mmu.tlb.t4[t + TLB_PFN] !== pfn) continue;
    const w = mmu.walker;
    reportViolation(k.views, k.cpu, V_EPHMAP, va, pfn, mmu.tlb.t4[t + TLB_FILL_GEN]!, -1, w.task, w.op, k.cpu);
    return;
  }
}
