// Pageblock flags (include/linux/pageblock-flags.h): 8 bits per 512-frame
// block, four blocks to a 32-bit word. Readers use a plain load, like
// get_pfnblock_migratetype(); writers go through one compare-exchange loop
// (__set_pfnblock_flags_mask) because a word is shared by four blocks whose
// bits are not all written under the same lock: the migratetype changes under
// the zone lock, but the ASI sensitivity bit and the compaction skip bit are
// set by a thread that owns the block without it.

import {
  MIGRATE_ISOLATE as MIGRATE_ISOLATE_, MIGRATE_TYPES as MIGRATE_TYPES_, PB_BITS as PB_BITS_, PB_ISOLATE as PB_ISOLATE_,
  PB_MIGRATE_MASK as PB_MIGRATE_MASK_, PB_NONSENSITIVE as PB_NONSENSITIVE_, PB_PER_WORD as PB_PER_WORD_, PB_SKIP as PB_SKIP_,
} from '../../../native-layout/bits.js';
import { PAGEBLOCK_ORDER as PAGEBLOCK_ORDER_ } from '../../../native-layout/shape.js';
import { BUG, injected } from '../../check/bugs.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MIGRATE_ISOLATE = MIGRATE_ISOLATE_, MIGRATE_TYPES = MIGRATE_TYPES_, PB_BITS = PB_BITS_, PB_ISOLATE = PB_ISOLATE_,
  PB_MIGRATE_MASK = PB_MIGRATE_MASK_, PB_NONSENSITIVE = PB_NONSENSITIVE_, PB_PER_WORD = PB_PER_WORD_, PB_SKIP = PB_SKIP_,
  PAGEBLOCK_ORDER = PAGEBLOCK_ORDER_;

const BUG_PB_WORD_NONATOMIC_RMW = BUG['pb-word-nonatomic-rmw']!;

const PB_WORD_SHIFT = Math.log2(PB_PER_WORD);
const PB_BYTE_MASK = (1 << PB_BITS) - 1;

function noHook(_pfn: number): void {}
let updateHook: (pfn: number) => void = noHook;

/**
 * An interleaving point between reading a pageblock word and writing it
 * back: the serialized engine and the tests install a hook here to run
 * another CPU exactly inside the read-modify-write window.
 */
export function setPageblockUpdateHook(fn: ((pfn: number) => void) | null): void {
  updateHook = fn ?? noHook;
}

function wordIndex(pfn: number): number {
  return (pfn >> PAGEBLOCK_ORDER) >> PB_WORD_SHIFT;
}

function byteShift(pfn: number): number {
  return ((pfn >> PAGEBLOCK_ORDER) & (PB_PER_WORD - 1)) * PB_BITS;
}

/** The block's 8 flag bits. */
export function pageblockFlags(pb: Int32Array, pfn: number): number {
  return (pb[wordIndex(pfn)] >>> byteShift(pfn)) & PB_BYTE_MASK;
}

/** get_pfnblock_migratetype(): MIGRATE_ISOLATE while isolated, else the stored type. */
export function getPageblockMigratetype(pb: Int32Array, pfn: number): number {
  const b = pageblockFlags(pb, pfn);
  return (b & PB_ISOLATE) !== 0 ? MIGRATE_ISOLATE : b & PB_MIGRATE_MASK;
}

/** get_pfnblock_freetype(): migratetype plus the sensitivity lane. */
export function getPageblockFreetype(pb: Int32Array, pfn: number): number {
  const b = pageblockFlags(pb, pfn);
  const mt = (b & PB_ISOLATE) !== 0 ? MIGRATE_ISOLATE : b & PB_MIGRATE_MASK;
  return (b & PB_NONSENSITIVE) !== 0 ? mt + MIGRATE_TYPES : mt;
}

/**
 * __set_pfnblock_flags_mask(): replace the bits of `mask` in pfn's block.
 * The loop retries when a neighbour's bits changed between the load and the
 * exchange; a plain store there loses that neighbour's update (injectable as
 * pb-word-nonatomic-rmw: CPU A retypes block 0 under the zone lock while CPU
 * B sets block 2's skip bit; B's stale word wipes A's new migratetype and the
 * block's free pages sit on lists of a type the block no longer has).
 */
export function setPfnblockFlagsMask(pb: Int32Array, pfn: number, flags: number, mask: number): void {
  const wi = wordIndex(pfn);
  const sh = byteShift(pfn);
  const clear = ~(mask << sh);
  const set = (flags & mask) << sh;
  if (injected[BUG_PB_WORD_NONATOMIC_RMW]) {
    const old = pb[wi];
    updateHook(pfn);
    pb[wi] = (old & clear) | set;
    return;
  }
  for (;;) {
    const old = Atomics.load(pb, wi);
    updateHook(pfn);
    if (Atomics.compareExchange(pb, wi, old, (old & clear) | set) === old) return;
  }
}

/** set_pageblock_migratetype(): a real type also ends isolation; ISOLATE keeps the type underneath. */
export function setPageblockMigratetype(pb: Int32Array, pfn: number, mt: number): void {
  if (mt === MIGRATE_ISOLATE) {
    setPfnblockFlagsMask(pb, pfn, PB_ISOLATE, PB_ISOLATE);
  } else {
    setPfnblockFlagsMask(pb, pfn, mt, PB_MIGRATE_MASK | PB_ISOLATE);
  }
}

/** change_pageblock_range(): retype every block covered by a 2^order block at pfn. */
export function changePageblockRange(pb: Int32Array, pfn: number, order: number, mt: number): void {
  const nr = order > PAGEBLOCK_ORDER ? 1 << (order - PAGEBLOCK_ORDER) : 1;
  const first = pfn & ~((1 << PAGEBLOCK_ORDER) - 1);
  for (let i = 0; i < nr; i++) setPageblockMigratetype(pb, first + (i << PAGEBLOCK_ORDER), mt);
}

/** set_pageblock_skip() / clear_pageblock_skip() (compaction; no zone lock). */
export function setPageblockSkip(pb: Int32Array, pfn: number, on: boolean): void {
  setPfnblockFlagsMask(pb, pfn, on ? PB_SKIP : 0, PB_SKIP);
}

/**
 * set_pageblock_sensitive(): flip the ASI bit. Only the thread that owns every
 * frame of the block may do this (none is free, on a pcp list or in use).
 */
export function setPageblockNonsensitive(pb: Int32Array, pfn: number, on: boolean): void {
  setPfnblockFlagsMask(pb, pfn, on ? PB_NONSENSITIVE : 0, PB_NONSENSITIVE);
}
