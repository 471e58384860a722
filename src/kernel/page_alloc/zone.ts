// The zone: its lock, watermarks and per-CPU list sizing. One zone covers
// all of memory (SEMANTICS.md: one zone is fine; no NUMA).

import { MIGRATE_PCPTYPES as MIGRATE_PCPTYPES_, NR_FREETYPES as NR_FREETYPES_, MIGRATE_TYPES as MIGRATE_TYPES_ } from '../../../native-layout/bits.js';
import {
  CPU_IN_ZONE_LOCK as CPU_IN_ZONE_LOCK_, CPU_IRQS_DISABLED as CPU_IRQS_DISABLED_, CPU_STRIDE as CPU_STRIDE_, ZONE_FREE_HEAD as ZONE_FREE_HEAD_,
  ZONE_FREE_PAGES as ZONE_FREE_PAGES_, ZONE_LOCK as ZONE_LOCK_, ZONE_NR_FREE as ZONE_NR_FREE_, ZONE_WMARK_MIN as ZONE_WMARK_MIN_,
} from '../../../native-layout/fields.js';
import { MAX_PAGE_ORDER as MAX_PAGE_ORDER_, PAGE_SIZE as PAGE_SIZE_ } from '../../../native-layout/shape.js';
import { LOCK_CLASS_ZONE } from '../../check/lockdep.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { AllocCtx } from './ctx.js';
import { ALLOC_MIN_RESERVE, ALLOC_NON_BLOCK, ALLOC_NO_WATERMARKS } from './gfp.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MIGRATE_PCPTYPES = MIGRATE_PCPTYPES_, NR_FREETYPES = NR_FREETYPES_, MIGRATE_TYPES = MIGRATE_TYPES_, CPU_IN_ZONE_LOCK = CPU_IN_ZONE_LOCK_,
  CPU_IRQS_DISABLED = CPU_IRQS_DISABLED_, CPU_STRIDE = CPU_STRIDE_, ZONE_FREE_HEAD = ZONE_FREE_HEAD_, ZONE_FREE_PAGES = ZONE_FREE_PAGES_,
  ZONE_LOCK = ZONE_LOCK_, ZONE_NR_FREE = ZONE_NR_FREE_, ZONE_WMARK_MIN = ZONE_WMARK_MIN_, MAX_PAGE_ORDER = MAX_PAGE_ORDER_, PAGE_SIZE = PAGE_SIZE_;

/**
 * spin_lock_irqsave(&zone->lock): interrupts go off *before* spinning, so a
 * CPU waiting here does not answer IPIs. That is what makes a shootdown
 * under the zone lock a deadlock (the flush-under-zone-lock class): the
 * waiter never acks the holder's flush. Returns the previous IRQ state.
 */
export function zoneLock(ctx: AllocCtx, cpu: number): number {
  const c = ctx.cpu;
  const ci = cpu * CPU_STRIDE;
  const saved = c[ci + CPU_IRQS_DISABLED];
  c[ci + CPU_IRQS_DISABLED] = 1;
  // Before spinning: an order lockdep rejects is reported even when the
  // lock happens to be free this time.
  ctx.lockdep.acquire(cpu, LOCK_CLASS_ZONE, false);
  spinLock(ctx.zone, ZONE_LOCK);
  c[ci + CPU_IN_ZONE_LOCK] = 1;
  return saved;
}

/** spin_unlock_irqrestore(&zone->lock, saved). */
export function zoneUnlock(ctx: AllocCtx, cpu: number, saved: number): void {
  const c = ctx.cpu;
  const ci = cpu * CPU_STRIDE;
  c[ci + CPU_IN_ZONE_LOCK] = 0;
  ctx.lockdep.release(cpu, LOCK_CLASS_ZONE);
  spinUnlock(ctx.zone, ZONE_LOCK);
  c[ci + CPU_IRQS_DISABLED] = saved;
}

/**
 * __zone_watermark_ok(), coarse: the min mark for everyone (there is no
 * kswapd to wake at low), halved for __GFP_HIGH and cut by another quarter
 * for non-blocking high-priority callers; order > 0 also needs a buddy block
 * of that order on a list a normal request may use. Lock-free read, like
 * the kernel's: a stale answer only means one allocation more or less.
 */
export function zoneWatermarkOk(ctx: AllocCtx, order: number, allocFlags: number): boolean {
  if ((allocFlags & ALLOC_NO_WATERMARKS) !== 0) return true;
  const zone = ctx.zone;
  let min = zone[ZONE_WMARK_MIN];
  if ((allocFlags & ALLOC_MIN_RESERVE) !== 0) {
    min -= min >> 1;
    if ((allocFlags & ALLOC_NON_BLOCK) !== 0) min -= min >> 2;
  }
  const free = zone[ZONE_FREE_PAGES] - ((1 << order) - 1);
  if (free <= min) return false;
  if (order === 0) return true;
  for (let o = order; o <= MAX_PAGE_ORDER; o++) {
    if (zone[ZONE_NR_FREE + o] === 0) continue;
    for (let lane = 0; lane < NR_FREETYPES; lane += MIGRATE_TYPES) {
      for (let mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
        if (zone[ZONE_FREE_HEAD + o * NR_FREETYPES + lane + mt] >= 0) return true;
      }
    }
  }
  return false;
}

// ---- sizing at boot ---------------------------------------------------------

export interface Watermarks {
  readonly min: number;
  readonly low: number;
  readonly high: number;
}

/**
 * calculate_min_free_kbytes() then __setup_per_zone_wmarks() for a single
 * zone: min = sqrt(16 x lowmem KiB) clamped to 128 KiB..256 MiB; low and high
 * add one and two steps of max(min / 4, 0.1% of the zone).
 */
export function zoneWatermarks(managedPages: number): Watermarks {
  const lowmemKb = managedPages * (PAGE_SIZE / 1024);
  const minKb = Math.min(262144, Math.max(128, Math.floor(Math.sqrt(lowmemKb * 16))));
  const min = Math.floor(minKb / (PAGE_SIZE / 1024));
  const step = Math.max(min >> 2, Math.floor((managedPages * 10) / 10000));
  return { min, low: min + step, high: min + 2 * step };
}

function roundDownPow2(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/**
 * zone_batchsize(): a quarter of min(0.1% of the zone, 1 MiB of frames),
 * rounded to 2^n - 1 (a power of two aliases badly in the cache when two
 * CPUs take alternate batches); at least 1. 63 for zones of 1 GiB or more,
 * 1 for a 16 MiB test zone.
 */
export function zoneBatchsize(managedPages: number): number {
  let batch = Math.min(managedPages >> 10, (1024 * 1024) / PAGE_SIZE) >> 2;
  if (batch < 1) batch = 1;
  batch = roundDownPow2(batch + (batch >> 1)) - 1;
  return Math.max(1, batch);
}

/**
 * zone_highsize(): the low watermark shared out across the CPUs, so that
 * full pcp lists alone never push the zone under low; at least 4 x batch.
 */
export function zoneHighsize(lowWmark: number, batch: number, cpus: number): number {
  return Math.max(Math.floor(lowWmark / cpus), batch << 2);
}
