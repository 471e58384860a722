// copy_user_highpage() through an ephemeral map (the CopyUserPage seam of
// kernel/mm/copy-user-page.ts): copy-on-write needs the source and the
// destination mapped at once.
//
// ephmap: slot 0 takes the source; the destination asks for slot 1, which
// exists only with K = 2. With K = 1 (as posted) slot 0 is busy, so the get
// fails like any second user's (counted as a fallback) and the destination
// is written through the direct map, exiting ASI (PAGE_FAULT) when the CPU
// is in the nonsensitive space. mermap: two window allocations (4 slots);
// when the window is full the destination falls back to the reserved page
// (preemption off) and, if that is taken by the source, to the direct map.
//
// Both pages belong to the current process (the faulting task maps the
// source and is about to map the destination), which is the contract of
// both maps. Migration is disabled from the first get to the last put.
//
// After the copy of an anonymous page the process loses logical access to
// the source: the caller drops its reference, and the other mapper (the
// fork's other side) may free it on any CPU at any moment. A pending
// mermap entry on this CPU, or another CPU's speculative fill of our slot,
// would then translate to the next owner's data. So before returning, the
// mitigation flush (mitigation.ts: an mm-wide flush if some put happened
// since the last one, one flush for any number of puts), exactly as for an
// evicted page-cache page. Found by cow-storm's end check: without it,
// mermap windows still translated freed frames at the end of the run
// (injectable as no-mitigation-flush-on-cow).

import { CPU_LOADED_MM, CPU_PREEMPT_COUNT } from '../../../native-layout/fields.js';
import type { KernelCtx } from '../ctx.js';
import { kernelReadPhysmap, kernelWritePhysmap } from '../asi/access.js';
import { MERMAP_FAIL, mermapGet, mermapGetReserved, mermapPut } from '../mermap/mermap.js';
import { currentTask } from '../sched/core.js';
import { migrateDisable, migrateEnable } from '../sched/migrate.js';
import { ephemeralRead, ephmapGet, ephmapPut, ephmapSlots } from './ephmap.js';
import { mitigationFlush } from './mitigation.js';
import { BUG, injected } from '../../check/bugs.js';
import { auditEphemeralLeak } from '../../check/ephemeral-audit.js';

const BUG_NO_MITIGATION_FLUSH_ON_COW = BUG['no-mitigation-flush-on-cow']!;

/**
 * The process is about to drop its last logical access to src: the
 * mitigation flush, then the oracle's audit at that moment (as at a
 * page-cache eviction, lose-access.ts): no CPU running mm may still
 * translate an mm-local address to src.
 */
function loseSource(k: KernelCtx, mm: number, src: number): void {
  if (injected[BUG_NO_MITIGATION_FLUSH_ON_COW] === 0) mitigationFlush(k, mm);
  auditEphemeralLeak(k, mm, src);
}

/** Writes the content word through an ephemeral address (the copy destination). */
function ephemeralWrite(k: KernelCtx, va: number, word: number): number {
  return k.mmu.write(va, word >>> 16, word & 0xffff);
}

/** The ephmap copy: source in slot 0, destination in slot 1 (K = 2) or the direct map. */
export function copyUserPageViaEphmap(k: KernelCtx, dst: number, src: number, srcLeaving: boolean): void {
  const mm = k.cpuState[k.cpuAt + CPU_LOADED_MM]!;
  const tid = currentTask(k);
  if (mm <= 0 || tid < 0) {
    kernelWritePhysmap(k, dst, kernelReadPhysmap(k, src));
    return;
  }
  const pinned = migrateDisable(k, tid);
  const vaSrc = ephmapGet(k, mm, 0, src, 1, tid);
  const word = vaSrc < 0 ? kernelReadPhysmap(k, src) : ephemeralRead(k, vaSrc);
  // K = 1: the only slot is the source's, so this get fails (a fallback).
  const vaDst = ephmapGet(k, mm, ephmapSlots(k) >= 2 ? 1 : 0, dst, 1, tid);
  if (vaDst < 0 || ephemeralWrite(k, vaDst, word) < 0) kernelWritePhysmap(k, dst, word);
  if (vaDst >= 0) ephmapPut(k, mm, vaDst, 1);
  if (vaSrc >= 0) ephmapPut(k, mm, vaSrc, 1);
  migrateEnable(k, tid, pinned);
  if (srcLeaving) loseSource(k, mm, src);
}

/** The mermap copy: two window allocations, the reserved page for one of them if the window is full. */
export function copyUserPageViaMermap(k: KernelCtx, dst: number, src: number, srcLeaving: boolean): void {
  const mm = k.cpuState[k.cpuAt + CPU_LOADED_MM]!;
  const tid = currentTask(k);
  if (mm <= 0 || tid < 0) {
    kernelWritePhysmap(k, dst, kernelReadPhysmap(k, src));
    return;
  }
  const st = k.cpuState;
  const pinned = migrateDisable(k, tid);
  let reserved = false;
  let vaSrc = mermapGet(k, mm, src, 1, tid);
  if (vaSrc === MERMAP_FAIL) {
    st[k.cpuAt + CPU_PREEMPT_COUNT] = st[k.cpuAt + CPU_PREEMPT_COUNT]! + 1;
    reserved = true;
    vaSrc = mermapGetReserved(k, mm, src, tid);
  }
  const word = ephemeralRead(k, vaSrc);
  let vaDst = mermapGet(k, mm, dst, 1, tid);
  if (vaDst === MERMAP_FAIL && !reserved) {
    st[k.cpuAt + CPU_PREEMPT_COUNT] = st[k.cpuAt + CPU_PREEMPT_COUNT]! + 1;
    reserved = true;
    vaDst = mermapGetReserved(k, mm, dst, tid);
  }
  if (vaDst === MERMAP_FAIL || ephemeralWrite(k, vaDst, word) < 0) kernelWritePhysmap(k, dst, word);
  if (vaDst !== MERMAP_FAIL) mermapPut(k, mm, vaDst);
  mermapPut(k, mm, vaSrc);
  if (reserved) st[k.cpuAt + CPU_PREEMPT_COUNT] = st[k.cpuAt + CPU_PREEMPT_COUNT]! - 1;
  migrateEnable(k, tid, pinned);
  if (srcLeaving) loseSource(k, mm, src);
}
