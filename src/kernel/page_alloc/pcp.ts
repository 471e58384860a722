// Per-CPU page lists (struct per_cpu_pages): small blocks freed by a CPU are
// kept on its own lists and handed out again LIFO while still cache-hot,
// refilled from and drained to the buddy lists in batches so the zone lock
// is taken once per batch, not once per page. Lock order: pcp lock, then
// zone lock, never the reverse.
//
// Hot path: plain typed-array code, no allocation, no closures, no throws.
// A block on a pcp list is its head frame (FS_PCP, order, freetype tag,
// private = owning CPU) linked through next/prev; its tails are FS_PCP with
// FRAME_F_TAIL. For the buddy these frames are in use.

import {
  FRAME_F_TAIL as FRAME_F_TAIL_, FRAME_F_ZEROED as FRAME_F_ZEROED_, FRAME_ORDER_SHIFT as FRAME_ORDER_SHIFT_,
  FRAME_PCP_FT_SHIFT as FRAME_PCP_FT_SHIFT_, FS_PCP as FS_PCP_, MIGRATE_MOVABLE as MIGRATE_MOVABLE_, MIGRATE_PCPTYPES as MIGRATE_PCPTYPES_,
  NR_LOWORDER_PCP_LISTS as NR_LOWORDER_PCP_LISTS_, NR_PCP_LISTS as NR_PCP_LISTS_, NR_PCP_LISTS_FT as NR_PCP_LISTS_FT_,
  PAGE_ALLOC_COSTLY_ORDER as PAGE_ALLOC_COSTLY_ORDER_,
} from '../../../native-layout/bits.js';
import { C as C_ } from '../../../native-layout/counters.js';
import {
  COUNTERS_STRIDE as COUNTERS_STRIDE_, FRAME_STRIDE as FRAME_STRIDE_, FR_FLAGS as FR_FLAGS_, FR_NEXT as FR_NEXT_, FR_PREV as FR_PREV_,
  FR_PRIVATE as FR_PRIVATE_, PCP_BATCH as PCP_BATCH_, PCP_COUNT as PCP_COUNT_, PCP_FREE_COUNT as PCP_FREE_COUNT_, PCP_HEAD as PCP_HEAD_,
  PCP_HIGH as PCP_HIGH_, PCP_LOCK as PCP_LOCK_, PCP_STRIDE as PCP_STRIDE_, PCP_TAIL as PCP_TAIL_,
} from '../../../native-layout/fields.js';
import { PAGEBLOCK_ORDER as PAGEBLOCK_ORDER_ } from '../../../native-layout/shape.js';
import { LOCK_CLASS_PCP } from '../../check/lockdep.js';
import { spinLock, spinTrylock, spinUnlock } from '../../sync/spinlock.js';
import { BUG, injected } from '../../check/bugs.js';
import { freeOnePage } from './buddy.js';
import type { AllocCtx } from './ctx.js';
import { ftMigratetype, ftNonsensitive } from './freetype.js';
import { pageFreetype } from './page.js';
import { getPageblockFreetype } from './pageblock.js';
import { RMQUEUE_NORMAL, rmqueue } from './rmqueue.js';
import { zoneLock, zoneUnlock } from './zone.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const FRAME_F_TAIL = FRAME_F_TAIL_, FRAME_F_ZEROED = FRAME_F_ZEROED_, FRAME_ORDER_SHIFT = FRAME_ORDER_SHIFT_,
  FRAME_PCP_FT_SHIFT = FRAME_PCP_FT_SHIFT_, FS_PCP = FS_PCP_, MIGRATE_MOVABLE = MIGRATE_MOVABLE_, MIGRATE_PCPTYPES = MIGRATE_PCPTYPES_,
  NR_LOWORDER_PCP_LISTS = NR_LOWORDER_PCP_LISTS_, NR_PCP_LISTS = NR_PCP_LISTS_, NR_PCP_LISTS_FT = NR_PCP_LISTS_FT_,
  PAGE_ALLOC_COSTLY_ORDER = PAGE_ALLOC_COSTLY_ORDER_, C = C_, COUNTERS_STRIDE = COUNTERS_STRIDE_, FRAME_STRIDE = FRAME_STRIDE_,
  FR_FLAGS = FR_FLAGS_, FR_NEXT = FR_NEXT_, FR_PREV = FR_PREV_, FR_PRIVATE = FR_PRIVATE_, PCP_BATCH = PCP_BATCH_, PCP_COUNT = PCP_COUNT_,
  PCP_FREE_COUNT = PCP_FREE_COUNT_, PCP_HEAD = PCP_HEAD_, PCP_HIGH = PCP_HIGH_, PCP_LOCK = PCP_LOCK_, PCP_STRIDE = PCP_STRIDE_,
  PCP_TAIL = PCP_TAIL_, PAGEBLOCK_ORDER = PAGEBLOCK_ORDER_;

const BUG_PCP_STALE_FREETYPE = BUG['pcp-stale-freetype']!;
const BUG_REMOTE_DRAIN_NO_LOCK = BUG['remote-drain-no-lock']!;
const BUG_ZONE_UNDER_PCP_INVERSION = BUG['zone-under-pcp-inversion']!;
const BUG_PINDEX_DROPS_SENSITIVITY = BUG['pindex-drops-sensitivity']!;
const CNT_PCP_REFILLS = C.pcpRefills;
const CNT_PCP_DRAINS = C.pcpDrains;

/** CONFIG_PCP_BATCH_SCALE_MAX: a drain moves at most batch << 5 frames per pcp-lock hold. */
export const PCP_BATCH_SCALE_MAX = 5;

/** pcp_allowed_order(): orders up to PAGE_ALLOC_COSTLY_ORDER, and the THP order. */
export function pcpAllowedOrder(order: number): boolean {
  return order <= PAGE_ALLOC_COSTLY_ORDER || order === PAGEBLOCK_ORDER;
}

/**
 * order_to_pindex(): low orders get one list per (order, mt); the THP order
 * has a movable and a non-movable list; the sensitivity lane doubles it all
 * so a sensitive frame is never handed to a nonsensitive request.
 */
export function orderToPindex(ft: number, order: number): number {
  const mt = ftMigratetype(ft);
  const base = order <= PAGE_ALLOC_COSTLY_ORDER
    ? order * MIGRATE_PCPTYPES + mt
    : NR_LOWORDER_PCP_LISTS + (mt === MIGRATE_MOVABLE ? 1 : 0);
  // Injected fault: both lanes share one set of lists, so a frame freed
  // from a nonsensitive block is handed to a sensitive request (and the
  // reverse) straight from the pcp list, never meeting the buddy's lanes.
  if (injected[BUG_PINDEX_DROPS_SENSITIVITY]) return base;
  return base + NR_PCP_LISTS * ftNonsensitive(ft);
}

export function pindexToOrder(pindex: number): number {
  const p = pindex % NR_PCP_LISTS;
  return p < NR_LOWORDER_PCP_LISTS ? (p / MIGRATE_PCPTYPES) | 0 : PAGEBLOCK_ORDER;
}

// ---- list primitives (pcp lock held) ---------------------------------------

function listAddHead(pcp: Int32Array, frame: Int32Array, base: number, pindex: number, pfn: number): void {
  const first = pcp[base + PCP_HEAD + pindex];
  const fi = pfn * FRAME_STRIDE;
  frame[fi + FR_NEXT] = first;
  frame[fi + FR_PREV] = -1;
  if (first < 0) pcp[base + PCP_TAIL + pindex] = pfn;
  else frame[first * FRAME_STRIDE + FR_PREV] = pfn;
  pcp[base + PCP_HEAD + pindex] = pfn;
}

function listAddTail(pcp: Int32Array, frame: Int32Array, base: number, pindex: number, pfn: number): void {
  const last = pcp[base + PCP_TAIL + pindex];
  const fi = pfn * FRAME_STRIDE;
  frame[fi + FR_PREV] = last;
  frame[fi + FR_NEXT] = -1;
  if (last < 0) pcp[base + PCP_HEAD + pindex] = pfn;
  else frame[last * FRAME_STRIDE + FR_NEXT] = pfn;
  pcp[base + PCP_TAIL + pindex] = pfn;
}

function listDel(pcp: Int32Array, frame: Int32Array, base: number, pindex: number, pfn: number): void {
  const fi = pfn * FRAME_STRIDE;
  const next = frame[fi + FR_NEXT];
  const prev = frame[fi + FR_PREV];
  if (prev < 0) pcp[base + PCP_HEAD + pindex] = next;
  else frame[prev * FRAME_STRIDE + FR_NEXT] = next;
  if (next < 0) pcp[base + PCP_TAIL + pindex] = prev;
  else frame[next * FRAME_STRIDE + FR_PREV] = prev;
  frame[fi + FR_NEXT] = -1;
  frame[fi + FR_PREV] = -1;
}

/** Marks a block as cached on `owner`'s lists, tagged with freetype ft. */
function setPcpFrames(frame: Int32Array, pfn: number, order: number, ft: number, owner: number): void {
  const orderBits = order << FRAME_ORDER_SHIFT;
  let i = pfn * FRAME_STRIDE;
  frame[i + FR_FLAGS] = (frame[i + FR_FLAGS] & FRAME_F_ZEROED) | FS_PCP | orderBits | (ft << FRAME_PCP_FT_SHIFT);
  frame[i + FR_PRIVATE] = owner;
  const end = (pfn + (1 << order)) * FRAME_STRIDE;
  for (i += FRAME_STRIDE; i < end; i += FRAME_STRIDE) {
    frame[i + FR_FLAGS] = (frame[i + FR_FLAGS] & FRAME_F_ZEROED) | FS_PCP | orderBits | FRAME_F_TAIL;
  }
}

// ---- allocation --------------------------------------------------------------

/**
 * nr_pcp_alloc(), without the alloc_factor auto-scaling: a batch of blocks,
 * fewer for higher orders but at least two when caching is on at all.
 */
function nrPcpAlloc(batch: number, high: number, order: number): number {
  if (high < batch) return 1;
  if (batch > 1) {
    const scaled = batch >> order;
    return scaled > 2 ? scaled : 2;
  }
  return batch;
}

/**
 * rmqueue_bulk(): up to `count` blocks of `order` for list pindex in ONE
 * zone-lock section, appended at the tail in the order the buddy gives them
 * (ascending pfn after a split), so the LIFO head hands them out in order.
 */
function rmqueueBulk(ctx: AllocCtx, cpu: number, order: number, count: number, pindex: number, ft: number, allocFlags: number): number {
  const { pcp, frame } = ctx;
  const base = cpu * PCP_STRIDE;
  const mode = ctx.rmqMode;
  mode[0] = RMQUEUE_NORMAL;
  const saved = zoneLock(ctx, cpu);
  let i = 0;
  for (; i < count; i++) {
    const pfn = rmqueue(ctx, cpu, order, ft, allocFlags, mode);
    if (pfn < 0) break;
    setPcpFrames(frame, pfn, order, ft, cpu);
    listAddTail(pcp, frame, base, pindex, pfn);
  }
  zoneUnlock(ctx, cpu, saved);
  ctx.counters[cpu * COUNTERS_STRIDE + CNT_PCP_REFILLS] += 1;
  return i;
}

/**
 * rmqueue_pcplist(): pop the head of this CPU's list, refilling an empty
 * list first. -1 when the list stays empty or the pcp lock is busy (a
 * remote drain holds it): the caller then goes to the buddy directly rather
 * than wait, as the kernel's trylock does.
 */
export function rmqueuePcplist(ctx: AllocCtx, cpu: number, order: number, ft: number, allocFlags: number): number {
  const { pcp, frame } = ctx;
  const base = cpu * PCP_STRIDE;
  if (!spinTrylock(pcp, base + PCP_LOCK)) return -1;
  ctx.lockdep.acquire(cpu, LOCK_CLASS_PCP, true);
  // An allocation ends a run of frees: the next drain may be smaller.
  pcp[base + PCP_FREE_COUNT] >>= 1;
  const pindex = orderToPindex(ft, order);
  let pfn = pcp[base + PCP_HEAD + pindex];
  if (pfn < 0) {
    const n = rmqueueBulk(ctx, cpu, order, nrPcpAlloc(pcp[base + PCP_BATCH], pcp[base + PCP_HIGH], order), pindex, ft, allocFlags);
    pcp[base + PCP_COUNT] += n << order;
    pfn = pcp[base + PCP_HEAD + pindex];
    if (pfn < 0) {
      ctx.lockdep.release(cpu, LOCK_CLASS_PCP);
      spinUnlock(pcp, base + PCP_LOCK);
      return -1;
    }
  }
  listDel(pcp, frame, base, pindex, pfn);
  pcp[base + PCP_COUNT] -= 1 << order;
  ctx.lockdep.release(cpu, LOCK_CLASS_PCP);
  spinUnlock(pcp, base + PCP_LOCK);
  return pfn;
}

// ---- free and drain ----------------------------------------------------------

/**
 * free_pcppages_bulk(): give about `count` frames of target's lists back to
 * the buddy, list by list round-robin starting with pindex, each list from
 * its tail (the coldest block). The freetype is read from the pageblock NOW:
 * the block may have been claimed by another type since the frame was
 * cached (injectable as pcp-stale-freetype, which reuses the cached tag and
 * lists the block on a type its pageblock no longer has). Caller holds
 * target's pcp lock. Returns frames freed.
 */
export function freePcppagesBulk(
  ctx: AllocCtx, cpu: number, target: number, count: number, pindex: number, zoneHeld = false,
): number {
  const { pcp, frame, pageblock } = ctx;
  const base = target * PCP_STRIDE;
  const have = pcp[base + PCP_COUNT];
  if (count > have) count = have;
  if (count <= 0) return 0;
  let pi = pindex - 1;
  let freed = 0;
  const saved = zoneHeld ? 0 : zoneLock(ctx, cpu);
  while (count > 0) {
    // Bounded search: a corrupted count (remote-drain-no-lock) must not spin here forever.
    let tries = 0;
    do {
      if (++pi >= NR_PCP_LISTS_FT) pi = 0;
    } while (pcp[base + PCP_HEAD + pi] < 0 && ++tries < NR_PCP_LISTS_FT);
    if (pcp[base + PCP_HEAD + pi] < 0) break;
    const order = pindexToOrder(pi);
    const nr = 1 << order;
    do {
      const pfn = pcp[base + PCP_TAIL + pi];
      const ft = injected[BUG_PCP_STALE_FREETYPE] ? pageFreetype(frame, pfn) : getPageblockFreetype(pageblock, pfn);
      listDel(pcp, frame, base, pi, pfn);
      count -= nr;
      freed += nr;
      pcp[base + PCP_COUNT] -= nr;
      freeOnePage(ctx, pfn, order, ft, false);
    } while (count > 0 && pcp[base + PCP_HEAD + pi] >= 0);
  }
  if (!zoneHeld) zoneUnlock(ctx, cpu, saved);
  ctx.counters[cpu * COUNTERS_STRIDE + CNT_PCP_DRAINS] += 1;
  return freed;
}

/**
 * nr_pcp_free(): after a run of frees drain more at once (free_count), but
 * always leave at least a batch cached.
 */
function nrPcpFree(freeCount: number, batch: number, high: number): number {
  if (high < batch) return 1;
  const max = high - batch > batch ? high - batch : batch;
  return freeCount < batch ? batch : freeCount > max ? max : freeCount;
}

/**
 * free_frozen_page_commit() under pcp_spin_trylock(): cache the block at
 * the head of cpu's list listPindex and, once the CPU holds `high` frames,
 * drain from the tails in batch-sized zone-lock sections. False when the
 * pcp lock is busy; the caller frees to the buddy instead.
 * ft is the block's pageblock freetype now (kept as the frame's tag).
 */
export function freeToPcp(ctx: AllocCtx, cpu: number, pfn: number, order: number, ft: number, listPindex: number): boolean {
  const { pcp, frame } = ctx;
  const base = cpu * PCP_STRIDE;
  if (!spinTrylock(pcp, base + PCP_LOCK)) return false;
  ctx.lockdep.acquire(cpu, LOCK_CLASS_PCP, true);
  setPcpFrames(frame, pfn, order, ft, cpu);
  listAddHead(pcp, frame, base, listPindex, pfn);
  const count = (pcp[base + PCP_COUNT] += 1 << order);
  const batch = pcp[base + PCP_BATCH];
  if (pcp[base + PCP_FREE_COUNT] < batch << PCP_BATCH_SCALE_MAX) pcp[base + PCP_FREE_COUNT] += 1 << order;
  const high = pcp[base + PCP_HIGH];
  if (count >= high) {
    let toFree = nrPcpFree(pcp[base + PCP_FREE_COUNT], batch, high);
    while (toFree > 0 && pcp[base + PCP_COUNT] > 0) {
      const chunk = toFree < batch ? toFree : batch;
      if (freePcppagesBulk(ctx, cpu, cpu, chunk, listPindex) === 0) break;
      toFree -= chunk;
    }
  }
  ctx.lockdep.release(cpu, LOCK_CLASS_PCP);
  spinUnlock(pcp, base + PCP_LOCK);
  return true;
}

/**
 * drain_pages_zone(): empty target's lists, batch << PCP_BATCH_SCALE_MAX
 * frames per pcp-lock hold so the owner is not locked out for long.
 * Another CPU's lists are only ever touched under that CPU's pcp lock: the
 * owner frees and allocates on them concurrently (injectable as
 * remote-drain-no-lock, which corrupts the list and the count).
 */
export function drainPagesZone(ctx: AllocCtx, cpu: number, target: number): void {
  const pcp = ctx.pcp;
  const base = target * PCP_STRIDE;
  const lock = target === cpu || !injected[BUG_REMOTE_DRAIN_NO_LOCK];
  // zone-under-pcp-inversion: the whole drain in one zone-lock section taken
  // *before* the pcp lock, to save the round trips. CPU 1 then holds the
  // zone lock and spins for CPU 2's pcp lock, while CPU 2, freeing, holds
  // that pcp lock and spins for the zone lock in freePcppagesBulk: both
  // with interrupts off, neither ever lets go. lockdep reports it at the
  // pcp acquire (the declared order is pcp -> zone).
  const inverted = injected[BUG_ZONE_UNDER_PCP_INVERSION] !== 0;
  for (;;) {
    const saved = inverted ? zoneLock(ctx, cpu) : 0;
    if (lock) {
      ctx.lockdep.acquire(cpu, LOCK_CLASS_PCP, false);
      spinLock(pcp, base + PCP_LOCK);
    }
    const count = pcp[base + PCP_COUNT];
    let freed = 0;
    if (count > 0) {
      const max = pcp[base + PCP_BATCH] << PCP_BATCH_SCALE_MAX;
      freed = freePcppagesBulk(ctx, cpu, target, count < max ? count : max, 0, inverted);
    }
    const left = pcp[base + PCP_COUNT];
    if (lock) {
      ctx.lockdep.release(cpu, LOCK_CLASS_PCP);
      spinUnlock(pcp, base + PCP_LOCK);
    }
    if (inverted) zoneUnlock(ctx, cpu, saved);
    if (left <= 0 || freed === 0) return;
  }
}

/** drain_all_pages(): every CPU's lists, each under its own pcp lock, from the calling CPU. */
export function drainAllPages(ctx: AllocCtx, cpu: number): void {
  const pcp = ctx.pcp;
  for (let t = 0; t < ctx.cpus; t++) {
    // Unlocked peek, as the kernel's has_pcps test: a CPU that caches
    // nothing now is skipped; one refilling meanwhile is not our concern.
    if (pcp[t * PCP_STRIDE + PCP_COUNT] > 0) drainPagesZone(ctx, cpu, t);
  }
}
