// The sensitivity flip (ASI): when neither the requested freetype's lists
// nor the migratetype fallbacks of the same sensitivity can serve a
// request, take whole free pageblocks of the other sensitivity and change
// them. As __rmqueue_asi() of Brendan Jackman's "mm: ASI direct map
// management" (v1, patch 18) and the 2026 form __rmqueue_direct_map()
// (RFC "mm: Add __GFP_UNMAPPED" 17/19); SEMANTICS.md §3 "Sensitivity flip".
//
// The order of the steps is the whole point:
//
//   take the block(s) under the zone lock, drop the lock;
//   to nonsensitive: zero every page -> map into the physmap -> set the bit;
//   to sensitive:    unmap -> kernel-range shootdown, every ack -> set the bit;
//   then free the remainder on the new freetype.
//
// Zero before map: the moment the 2 MiB leaf is written, any CPU in the
// nonsensitive address space can speculatively walk it and cache the
// previous owner's secrets (injectable as no-zero-on-map, and as
// zero-after-map, which zeroes only once the leaf is live).
//
// Flush before the bit: the bit is what lets the block's pages reach a
// sensitive request. Set it before every CPU dropped its physmap entry and
// CPU 1, still holding a global 2 MiB entry for the block, reads the
// secrets CPU 2 just allocated there, from the nonsensitive space
// (injectable as flag-before-flush; a flush of the local TLB only leaves
// the same window open for good: asi-unmap-no-global-flush).
//
// Why outside the zone lock, with interrupts on, and never for
// non-blocking requests: the shootdown waits for every CPU's ack, and a
// CPU spinning on the zone lock does so with interrupts off, so it would
// never answer; a non-blocking caller may hold a lock another CPU needs
// before it can take the IPI. Zeroing 2 MiB under a spinlock is also
// simply too long.
//
// The allocator knows nothing of page tables: the physmap writes, the
// shootdown and the oracle's checks come through AsiFlipOps, which the
// kernel installs on each CPU's allocator (src/kernel/asi/flip-ops.ts).

import { MIGRATE_TYPES as MIGRATE_TYPES_ } from '../../../native-layout/bits.js';
import { C as C_ } from '../../../native-layout/counters.js';
import { COUNTERS_STRIDE as COUNTERS_STRIDE_ } from '../../../native-layout/fields.js';
import { PAGEBLOCK_NR_PAGES as PAGEBLOCK_NR_PAGES_, PAGEBLOCK_ORDER as PAGEBLOCK_ORDER_ } from '../../../native-layout/shape.js';
import { BUG, injected } from '../../check/bugs.js';
import { LOCK_CLASS_ASI_FLIP } from '../../check/lockdep.js';
import { zeroFrame } from '../../hw/frames.js';
import { freeOnePage } from './buddy.js';
import type { AllocCtx } from './ctx.js';
import { ftMigratetype, ftNonsensitive } from './freetype.js';
import { ALLOC_NON_BLOCK } from './gfp.js';
import { changePageblockRange, setPageblockNonsensitive } from './pageblock.js';
import { RMQUEUE_NORMAL, rmqueue } from './rmqueue.js';
import { zoneLock, zoneUnlock } from './zone.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MIGRATE_TYPES = MIGRATE_TYPES_, C = C_, COUNTERS_STRIDE = COUNTERS_STRIDE_, PAGEBLOCK_NR_PAGES = PAGEBLOCK_NR_PAGES_,
  PAGEBLOCK_ORDER = PAGEBLOCK_ORDER_;

const BUG_FLAG_BEFORE_FLUSH = BUG['flag-before-flush']!;
const BUG_NO_ZERO_ON_MAP = BUG['no-zero-on-map']!;
const BUG_ZERO_AFTER_MAP = BUG['zero-after-map']!;
const BUG_REMAINDER_WRONG_FREETYPE = BUG['remainder-wrong-freetype']!;
const BUG_ASI_UNMAP_NO_GLOBAL_FLUSH = BUG['asi-unmap-no-global-flush']!;
const BUG_FLUSH_UNDER_ZONE_LOCK = BUG['flush-under-zone-lock']!;
const BUG_NOBLOCK_IGNORED = BUG['noblock-ignored']!;
const CNT_TO_NONSENSITIVE = C.pageblockFlipsToNonsensitive;
const CNT_TO_SENSITIVE = C.pageblockFlipsToSensitive;
const CNT_ZEROED = C.zeroedPages;
const CNT_COMPACTIONS = C.compactions;

/**
 * What the flip needs from the kernel, per CPU. Every method runs on the
 * CPU that flips, without the zone lock.
 */
export interface AsiFlipOps {
  /** Interrupts off on cpu: no flip (the shootdown could never be acknowledged). */
  irqsOff(cpu: number): boolean;
  /** Writes the physmap's 2 MiB leaves for nr pageblocks from pfn (no flush needed). */
  mapBlocks(cpu: number, pfn: number, nr: number): void;
  /** Clears them (TLBs may still hold them). */
  unmapBlocks(cpu: number, pfn: number, nr: number): void;
  /** flush_tlb_kernel_range over their physmap addresses; returns when every CPU acknowledged. */
  flushBlocks(cpu: number, pfn: number, nr: number): void;
  /** The same range, this CPU's TLB only (what asi-unmap-no-global-flush does instead). */
  flushBlocksLocal(cpu: number, pfn: number, nr: number): void;
  /** Oracle 6(b): every frame of the block is zeroed, checked at the moment it is mapped. */
  checkZeroedBeforeMap(cpu: number, pfn: number, nr: number): void;
  /** Oracle 6(a): at the moment the bit says sensitive, no CPU still caches a physmap entry for the blocks. */
  auditNowSensitive(cpu: number, pfn: number, nr: number): void;
  /**
   * Oracle 6(d): the block of pfn is mapped in the physmap iff its bit says
   * nonsensitive, and (wantNs >= 0) its sensitivity is the one expected.
   */
  checkMapping(cpu: number, pfn: number, wantNs: number): void;
  /**
   * Compaction for the flip (the 2026 series compacts before failing an
   * unmapped allocation): try to empty one pageblock of lane `fromNs` by
   * migrating what can be moved out of it. Returns true if it freed a whole
   * block (the caller retries), false if nothing could be done.
   */
  compact(cpu: number, fromNs: number, mt: number): boolean;
}

/** The freetype with the same migratetype and the other sensitivity. */
function otherLane(ft: number): number {
  return ft >= MIGRATE_TYPES ? ft - MIGRATE_TYPES : ft + MIGRATE_TYPES;
}

/**
 * __rmqueue_asi(): a 2^order block of freetype ft, made from whole free
 * pageblocks of the other sensitivity; its first pfn, or -1 (flip refused,
 * or no whole block even after compaction). Called with no lock held,
 * after rmqueue_buddy failed for ft.
 */
export function rmqueueFlip(ctx: AllocCtx, cpu: number, order: number, ft: number, allocFlags: number): number {
  const ops = ctx.asiOps;
  if (!ctx.asi || ops === null) return -1;
  // The refusal __rmqueue_direct_map() makes first. Skipping it is
  // noblock-ignored: a GFP_ATOMIC request from an interrupt handler (or
  // under a spin_lock_irqsave) goes on to a shootdown that waits for acks
  // with interrupts off. lockdep sees the flip section entered with
  // interrupts off (sleep-in-atomic) before any IPI is sent.
  if (injected[BUG_NOBLOCK_IGNORED] === 0) {
    if ((allocFlags & ALLOC_NON_BLOCK) !== 0) return -1;
    if (ops.irqsOff(cpu)) return -1;
  }
  // The flip is a section that may wait for every CPU (a lockdep map with
  // no lock behind it, as the kernel's fs_reclaim map): entering it with
  // interrupts off, or under the zone lock, is reported before it hangs.
  ctx.lockdep.acquire(cpu, LOCK_CLASS_ASI_FLIP, false);
  const pfn = flipBlocks(ctx, ops, cpu, order, ft);
  ctx.lockdep.release(cpu, LOCK_CLASS_ASI_FLIP);
  return pfn;
}

function flipBlocks(ctx: AllocCtx, ops: AsiFlipOps, cpu: number, order: number, ft: number): number {
  const allocOrder = order > PAGEBLOCK_ORDER ? order : PAGEBLOCK_ORDER;
  const fromFt = otherLane(ft);
  let pfn = takeBlocks(ctx, cpu, allocOrder, fromFt, ftMigratetype(ft));
  if (pfn < 0 && ops.compact(cpu, ftNonsensitive(fromFt), ftMigratetype(ft))) {
    ctx.counters[cpu * COUNTERS_STRIDE + CNT_COMPACTIONS] += 1;
    pfn = takeBlocks(ctx, cpu, allocOrder, fromFt, ftMigratetype(ft));
  }
  if (pfn < 0) return -1;
  const nr = 1 << (allocOrder - PAGEBLOCK_ORDER);
  if (ftNonsensitive(ft) === 1) {
    makeNonsensitive(ctx, ops, cpu, pfn, nr);
  } else if (injected[BUG_FLUSH_UNDER_ZONE_LOCK] !== 0) {
    // flush-under-zone-lock: unmap and shoot down inside a zone-lock
    // section ("the block cannot be handed out meanwhile"). Any CPU
    // spinning for the zone lock does so with interrupts off and never
    // acks: the flush waits forever, and so does everyone behind the lock.
    const saved = zoneLock(ctx, cpu);
    makeSensitive(ctx, ops, cpu, pfn, nr);
    zoneUnlock(ctx, cpu, saved);
  } else {
    makeSensitive(ctx, ops, cpu, pfn, nr);
  }
  freeRemainder(ctx, cpu, pfn, order, allocOrder, injected[BUG_REMAINDER_WRONG_FREETYPE] ? fromFt : ft);
  return pfn;
}

/**
 * Under the zone lock: whole pageblocks from the other lane's lists (the
 * full own/claim/steal machine at pageblock order or above, so what comes
 * back is wholly free and ours), retyped to the request's migratetype, as
 * a claim of whole blocks would. The sensitivity bit stays: it changes
 * only once the physmap agrees.
 */
function takeBlocks(ctx: AllocCtx, cpu: number, allocOrder: number, fromFt: number, mt: number): number {
  const saved = zoneLock(ctx, cpu);
  ctx.rmqMode[0] = RMQUEUE_NORMAL;
  const pfn = rmqueue(ctx, cpu, allocOrder, fromFt, 0, ctx.rmqMode);
  if (pfn >= 0) changePageblockRange(ctx.pageblock, pfn, allocOrder, mt);
  zoneUnlock(ctx, cpu, saved);
  return pfn;
}

function zeroBlocks(ctx: AllocCtx, cpu: number, pfn: number, nr: number): void {
  const n = nr * PAGEBLOCK_NR_PAGES;
  for (let p = pfn; p < pfn + n; p++) zeroFrame(ctx.frame, p);
  ctx.counters[cpu * COUNTERS_STRIDE + CNT_ZEROED] += n;
}

/** Sensitive -> nonsensitive: zero, map, then the bit. No flush: nothing cached a non-present entry. */
function makeNonsensitive(ctx: AllocCtx, ops: AsiFlipOps, cpu: number, pfn: number, nr: number): void {
  const zeroFirst = !injected[BUG_NO_ZERO_ON_MAP] && !injected[BUG_ZERO_AFTER_MAP];
  if (zeroFirst) zeroBlocks(ctx, cpu, pfn, nr);
  ops.checkZeroedBeforeMap(cpu, pfn, nr);
  ops.mapBlocks(cpu, pfn, nr);
  if (injected[BUG_ZERO_AFTER_MAP]) zeroBlocks(ctx, cpu, pfn, nr);
  for (let b = 0; b < nr; b++) setPageblockNonsensitive(ctx.pageblock, pfn + b * PAGEBLOCK_NR_PAGES, true);
  ctx.counters[cpu * COUNTERS_STRIDE + CNT_TO_NONSENSITIVE] += nr;
}

/** Nonsensitive -> sensitive: unmap, shoot down (every ack), then the bit. */
function makeSensitive(ctx: AllocCtx, ops: AsiFlipOps, cpu: number, pfn: number, nr: number): void {
  const bitFirst = injected[BUG_FLAG_BEFORE_FLUSH] !== 0;
  ops.unmapBlocks(cpu, pfn, nr);
  if (bitFirst) setSensitiveBits(ctx, ops, cpu, pfn, nr);
  if (injected[BUG_ASI_UNMAP_NO_GLOBAL_FLUSH]) ops.flushBlocksLocal(cpu, pfn, nr);
  else ops.flushBlocks(cpu, pfn, nr);
  if (!bitFirst) setSensitiveBits(ctx, ops, cpu, pfn, nr);
  ctx.counters[cpu * COUNTERS_STRIDE + CNT_TO_SENSITIVE] += nr;
}

function setSensitiveBits(ctx: AllocCtx, ops: AsiFlipOps, cpu: number, pfn: number, nr: number): void {
  for (let b = 0; b < nr; b++) setPageblockNonsensitive(ctx.pageblock, pfn + b * PAGEBLOCK_NR_PAGES, false);
  ops.auditNowSensitive(cpu, pfn, nr);
}

/**
 * The upper buddies of a 2^allocOrder block cut down to 2^order go back on
 * freetype ft, the block's new one (read from nowhere else: the bit was
 * set just before). Freeing them on the old freetype lists a nonsensitive
 * page among sensitive ones (injectable as remainder-wrong-freetype).
 */
function freeRemainder(ctx: AllocCtx, cpu: number, pfn: number, order: number, allocOrder: number, ft: number): void {
  if (order >= allocOrder) return;
  const saved = zoneLock(ctx, cpu);
  for (let o = order; o < allocOrder; o++) freeOnePage(ctx, pfn + (1 << o), o, ft, false);
  zoneUnlock(ctx, cpu, saved);
}
