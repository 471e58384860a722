// kmap_local_page() / kunmap_local() (mm/highmem.c __kmap_local_pfn_prot,
// kunmap_local_indexed, __kmap_local_sched_out/_in), for comparison runs
// with the ephemeral maps: what a 32-bit HIGHMEM kernel does to map a
// page for a moment, and the design the ephmap is measured against.
//
// Slots are fixmap addresses in init_mm's tables, shared by every address
// space: slot i of CPU c is fixmap index KMAP_FIX_BEGIN + 16 c + i. Each
// task keeps a LIFO stack of up to 16 slots (task_struct.kmap_ctrl) with
// the PTE of each, because a holder may be preempted: on switch-out its
// slots are cleared (and flushed here), on switch-in the incoming task's
// saved PTEs are written back at the same per-CPU addresses. Slots are
// thus time-shared by the tasks of one CPU, and the holder must not
// migrate (the caller disables migration).
//
// Map does no flush: the slot was flushed when it was last cleared. Unmap
// clears the PTE and flushes this CPU only (arch_kmap_local_post_unmap:
// flush_tlb_one_kernel); kmap-no-unmap-flush skips that, so the next map
// of the slot to another page reads the old one through the stale entry.

import { INIT_MM, PTE_A, PTE_D, PTE_G, PTE_RW } from '../../../native-layout/bits.js';
import { KMAP_IDX, KMAP_PTEVAL, KMAP_STRIDE, MM_PGD, MM_STRIDE } from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import type { KernelCtx } from '../ctx.js';
import { FixmapError, fixToVirt } from '../mm/fixmap.js';
import { mapPte, unmapLeaf } from '../mm/pgtable.js';
import { flushTlbOneKernel } from '../tlb/flush-kernel.js';
import { EPH_KMAP_LOCAL, EV_EPH_MAP, EV_EPH_UNMAP } from '../../trace/events.js';

const VA_SPLIT = 2 ** 32;

/** KM_MAX_IDX: slots per task (and per CPU). */
export const KM_MAX_IDX = 16;
/** First fixmap index of the kmap slots (after the slots fixmap.ts hands out). */
export const KMAP_FIX_BEGIN = 256;
/** CPUs the fixmap's one PTE table has kmap slots for. */
export const KMAP_MAX_CPUS = (512 - KMAP_FIX_BEGIN) / KM_MAX_IDX;
const BUG_NO_UNMAP_FLUSH = BUG['kmap-no-unmap-flush']!;

export class KmapError extends Error {
  override name = 'KmapError';
}

/** Address of slot idx on cpu. */
export function kmapSlotVa(cpu: number, idx: number): number {
  return fixToVirt(KMAP_FIX_BEGIN + cpu * KM_MAX_IDX + idx);
}

function initPgd(k: KernelCtx): number {
  return k.mm[INIT_MM * MM_STRIDE + MM_PGD]!;
}

function slotProt(k: KernelCtx): number {
  return PTE_RW | PTE_A | PTE_D | (k.pti ? 0 : PTE_G);
}

/**
 * kmap_local_page(): pushes a slot on task tid's stack (tid current here,
 * migration disabled) and maps pfn there. Returns the address. The slot's
 * PTE must be none: a set one means a slot leaked.
 */
export function kmapLocalPage(k: KernelCtx, tid: number, pfn: number): number {
  if (k.cpu >= KMAP_MAX_CPUS) throw new KmapError(`kmap_local has slots for ${KMAP_MAX_CPUS} CPUs, not CPU ${k.cpu}`);
  const at = tid * KMAP_STRIDE;
  const idx = k.views.kmap[at + KMAP_IDX]!;
  if (idx >= KM_MAX_IDX) throw new KmapError(`task ${tid}: kmap_local stack overflow (${KM_MAX_IDX} slots)`);
  const va = kmapSlotVa(k.cpu, idx);
  const r = mapPte(k.env, k.cpu, initPgd(k), va, pfn, slotProt(k));
  if (r < 0) throw new FixmapError(`CPU ${k.cpu}: kmap slot ${idx} (va 0x${va.toString(16)}) is not free (${r})`);
  k.views.kmap[at + KMAP_PTEVAL + idx] = pfn + 1;
  k.views.kmap[at + KMAP_IDX] = idx + 1;
  k.smp.trace.emit(EV_EPH_MAP, va % VA_SPLIT | 0, ((va / VA_SPLIT) | 0) | (EPH_KMAP_LOCAL << 16), pfn);
  return va;
}

/** kunmap_local(): va must be the top of tid's stack; clears it and flushes it here. */
export function kunmapLocal(k: KernelCtx, tid: number, va: number): void {
  const at = tid * KMAP_STRIDE;
  const idx = k.views.kmap[at + KMAP_IDX]! - 1;
  if (idx < 0 || kmapSlotVa(k.cpu, idx) !== va) throw new KmapError(`task ${tid}: kunmap_local of 0x${va.toString(16)}, not the top slot (LIFO)`);
  k.smp.trace.emit(EV_EPH_UNMAP, va % VA_SPLIT | 0, ((va / VA_SPLIT) | 0) | (EPH_KMAP_LOCAL << 16), 1);
  unmapLeaf(k.env, initPgd(k), va, k.ref);
  if (injected[BUG_NO_UNMAP_FLUSH] === 0) flushTlbOneKernel(k, va);
  k.views.kmap[at + KMAP_PTEVAL + idx] = 0;
  k.views.kmap[at + KMAP_IDX] = idx;
}

/** __kmap_local_sched_out(): prev leaves this CPU; its slots are cleared (and flushed) here. */
export function kmapLocalSchedOut(k: KernelCtx, prev: number): void {
  const at = prev * KMAP_STRIDE;
  const n = k.views.kmap[at + KMAP_IDX]!;
  for (let i = 0; i < n; i++) {
    const va = kmapSlotVa(k.cpu, i);
    unmapLeaf(k.env, initPgd(k), va, k.ref);
    flushTlbOneKernel(k, va);
  }
}

/** __kmap_local_sched_in(): next runs here again; its saved PTEs go back at this CPU's slots. */
export function kmapLocalSchedIn(k: KernelCtx, next: number): void {
  const at = next * KMAP_STRIDE;
  const n = k.views.kmap[at + KMAP_IDX]!;
  for (let i = 0; i < n; i++) {
    const pfn = k.views.kmap[at + KMAP_PTEVAL + i]! - 1;
    const r = mapPte(k.env, k.cpu, initPgd(k), kmapSlotVa(k.cpu, i), pfn, slotProt(k));
    if (r < 0) throw new KmapError(`CPU ${k.cpu}: restoring task ${next}'s kmap slot ${i} failed (${r})`);
  }
}
