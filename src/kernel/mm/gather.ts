// mmu_gather: unmap now, flush once, free after (mm/mmu_gather.c,
// include/asm-generic/tlb.h, and x86's tlb_flush()). The order is the whole
// point:
//   1. unhook: clear PTEs (and unlink empty page tables) under the locks;
//   2. invalidate: flush every CPU that may cache them, lazy CPUs too when
//      tables were unlinked;
//   3. free the tables, then drop the pages' references (freeing them).
// A frame freed before step 2 completes can be reallocated and written by
// its next owner while some CPU still translates the old address to it.

import { MM_CPUMASK, MM_STRIDE, MM_TLB_FLUSH_PENDING } from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import { cpumaskCopy } from '../../sync/cpumask.js';
import type { KernelCtx } from '../ctx.js';
import { FLUSH_ALL } from '../tlb/flush-func.js';
import { PAGE_SHIFT_4K, flushTlbMmRange, incMmTlbGen } from '../tlb/flush-mm.js';
import { GATHER_BATCH, type MmuGather } from './gather-state.js';
import { putPage } from './page-ref.js';
import { freePgtablePage } from './pgtable.js';
import { tlbRemoveTableSync } from '../tlb/table-free.js';

const BUG_FREE_BEFORE_FLUSH = BUG['free-before-flush']!;
const BUG_TABLE_FREE_BEFORE_INVALIDATE = BUG['table-free-before-invalidate']!;
const BUG_PARALLEL_ZAP_NO_NESTED_CHECK = BUG['parallel-zap-no-nested-check']!;
const BUG_MISSED_CPUMASK = BUG['missed-cpumask']!;
const BUG_GEN_BUMP_BEFORE_PTE_WRITE = BUG['gen-bump-before-pte-write']!;
const BUG_NESTED_FLUSH_DROPS_FREED_TABLES = BUG['nested-flush-drops-freed-tables']!;

export class GatherError extends Error {
  override name = 'GatherError';
}

/**
 * tlb_gather_mmu(): start unmapping in mm. tlb_flush_pending counts the
 * gathers in progress, so a concurrent one can tell its PTEs may have been
 * cleared by us and not flushed yet (mm_tlb_flush_nested).
 */
export function tlbGatherMmu(k: KernelCtx, mm: number, fullmm: boolean): MmuGather {
  const g = k.gather;
  if (g.mm !== -1) throw new GatherError(`CPU ${k.cpu}: mmu_gather already in use for mm ${g.mm}`);
  g.reset(mm, fullmm);
  Atomics.add(k.mm, mm * MM_STRIDE + MM_TLB_FLUSH_PENDING, 1);
  if (injected[BUG_MISSED_CPUMASK] !== 0) {
    // The bug: the CPUs to flush are read now, before any PTE is cleared,
    // instead of after the tlb_gen bump. A CPU that switches to mm during
    // the unmap fills its TLB from the old PTEs and is never told.
    cpumaskCopy(k.mm, mm * MM_STRIDE + MM_CPUMASK, g.maskSnap, 0);
    g.useMaskSnap = true;
  }
  if (injected[BUG_GEN_BUMP_BEFORE_PTE_WRITE] !== 0) {
    // The bug: the generation moves before the PTEs it covers. A CPU that
    // reads it now (switching in, or flushing for someone else) records it
    // as done, refills from a PTE we have yet to clear, and later skips our
    // IPI because its generation is already there.
    g.preGen = incMmTlbGen(k, mm);
    g.preGenValid = true;
  }
  return g;
}

/** __tlb_adjust_range() + a cleared PTE. */
export function tlbClearedPte(g: MmuGather, vpn: number): void {
  if (vpn < g.start) g.start = vpn;
  if (vpn + 1 > g.end) g.end = vpn + 1;
  g.cleared = true;
}

/** __tlb_remove_page(): the page's reference is dropped after the flush. */
export function tlbRemovePage(g: MmuGather, pfn: number, vpn: number): void {
  tlbClearedPte(g, vpn);
  g.pages[g.nrPages++] = pfn;
}

export function tlbBatchRoom(g: MmuGather): number {
  return GATHER_BATCH - g.nrPages;
}

/** pte_free_tlb(): a page table unlinked from the range [startVpn, endVpn). */
export function tlbRemoveTable(g: MmuGather, pfn: number, startVpn: number, endVpn: number): void {
  if (startVpn < g.start) g.start = startVpn;
  if (endVpn > g.end) g.end = endVpn;
  g.freedTables = true;
  g.tables.push(pfn);
}

/** tlb_flush_mmu_tlbonly(): the flush of step 2, if anything needs one. */
export function tlbFlushMmuTlbonly(k: KernelCtx, g: MmuGather): void {
  if (!g.cleared && !g.freedTables) return;
  const start = g.fullmm ? 0 : g.start;
  const end = g.fullmm ? FLUSH_ALL : g.end;
  flushTlbMmRange(k, g.mm, start, end, PAGE_SHIFT_4K, g.freedTables, g.preGen, g.preGenValid,
    g.useMaskSnap ? g.maskSnap : null, 0);
  g.preGenValid = false;
  g.start = 0x7fffffff;
  g.end = 0;
  g.cleared = false;
  g.freedTables = false;
}

function freeTables(k: KernelCtx, g: MmuGather): void {
  if (g.tables.length === 0) return;
  // Lockless walkers (gup_fast) that the flush did not wait for let go first.
  tlbRemoveTableSync(k);
  for (const pfn of g.tables) freePgtablePage(k.env, k.cpu, pfn);
  g.tables.length = 0;
}

function freePages(k: KernelCtx, g: MmuGather): void {
  const pages = g.pages;
  for (let i = 0; i < g.nrPages; i++) putPage(k, pages[i]!);
  g.nrPages = 0;
}

/** tlb_flush_mmu(): flush, then free tables, then pages (the batch is empty after). */
export function tlbFlushMmu(k: KernelCtx, g: MmuGather): void {
  if (injected[BUG_FREE_BEFORE_FLUSH] !== 0) freePages(k, g);
  if (injected[BUG_TABLE_FREE_BEFORE_INVALIDATE] !== 0) freeTables(k, g);
  tlbFlushMmuTlbonly(k, g);
  freeTables(k, g);
  freePages(k, g);
}

/**
 * tlb_finish_mmu(). If another gather ran on this mm meanwhile, it may have
 * cleared PTEs in our range that we therefore found empty, and not flushed
 * them yet; returning now would leave them cached while our caller believes
 * the range is gone (two threads MADV_DONTNEED one range: 56236a59556c). So
 * a nested gather flushes everything, as a table free (injectable as
 * parallel-zap-no-nested-check).
 */
export function tlbFinishMmu(k: KernelCtx, g: MmuGather): void {
  const pendingAt = g.mm * MM_STRIDE + MM_TLB_FLUSH_PENDING;
  if (Atomics.load(k.mm, pendingAt) > 1 && injected[BUG_PARALLEL_ZAP_NO_NESTED_CHECK] === 0) {
    g.fullmm = true;
    // Before 7a30df49f63a the forced flush reset the gather's range state
    // first (__tlb_reset_range), freed_tables with it: a munmap that freed
    // tables under the read lock while a MADV_DONTNEED ran beside it then
    // flushed without reaching lazy CPUs, and freed the tables under their
    // paging-structure caches (injectable as nested-flush-drops-freed-tables).
    g.freedTables = injected[BUG_NESTED_FLUSH_DROPS_FREED_TABLES] === 0;
  }
  tlbFlushMmu(k, g);
  Atomics.sub(k.mm, pendingAt, 1);
  g.mm = -1;
}
