// The allocator oracle (SEMANTICS.md §9.5), for quiescent points: no CPU
// may be inside the allocator while it runs. It re-derives every rule from
// the raw bits in the machine's views and shares no helper with
// src/kernel/page_alloc, so a fault injected into the allocator's rules
// cannot blind the check of them.
//
// Checks: conservation (every frame in exactly one block of one state, and
// the states sum to the managed frames), buddy list structure, nr_free and
// NR_FREE_PAGES exact, buddy maximality, list/pageblock agreement, pcp list
// structure, counts and sensitivity lanes, allocation head/tail shape.

import {
  FRAME_F_HEAD as FRAME_F_HEAD_, FRAME_F_TAIL as FRAME_F_TAIL_, FRAME_ORDER_MASK as FRAME_ORDER_MASK_, FRAME_ORDER_SHIFT as FRAME_ORDER_SHIFT_, FRAME_PCP_FT_MASK as FRAME_PCP_FT_MASK_, FRAME_PCP_FT_SHIFT as FRAME_PCP_FT_SHIFT_, FRAME_STATE_MASK as FRAME_STATE_MASK_, FRAME_STATE_NAMES as FRAME_STATE_NAMES_, FS_ALLOCATED as FS_ALLOCATED_, FS_FREE_HEAD as FS_FREE_HEAD_, FS_FREE_TAIL as FS_FREE_TAIL_, FS_PAGETABLE as FS_PAGETABLE_, FS_PCP as FS_PCP_, FS_RESERVED as FS_RESERVED_, FS_TRANSIT as FS_TRANSIT_, MIGRATE_ISOLATE as MIGRATE_ISOLATE_, MIGRATE_PCPTYPES as MIGRATE_PCPTYPES_, MIGRATE_TYPES as MIGRATE_TYPES_, NR_FREETYPES as NR_FREETYPES_, NR_LOWORDER_PCP_LISTS as NR_LOWORDER_PCP_LISTS_, NR_PCP_LISTS as NR_PCP_LISTS_, NR_PCP_LISTS_FT as NR_PCP_LISTS_FT_, PB_BITS as PB_BITS_, PB_ISOLATE as PB_ISOLATE_, PB_MIGRATE_MASK as PB_MIGRATE_MASK_, PB_NONSENSITIVE as PB_NONSENSITIVE_, PB_PER_WORD as PB_PER_WORD_,
} from '../../native-layout/bits.js';
import {
  FRAME_STRIDE as FRAME_STRIDE_, FR_FLAGS as FR_FLAGS_, FR_NEXT as FR_NEXT_, FR_PREV as FR_PREV_, FR_PRIVATE as FR_PRIVATE_, PCP_COUNT as PCP_COUNT_, PCP_HEAD as PCP_HEAD_, PCP_STRIDE as PCP_STRIDE_, PCP_TAIL as PCP_TAIL_, ZONE_FREE_HEAD as ZONE_FREE_HEAD_, ZONE_FREE_PAGES as ZONE_FREE_PAGES_, ZONE_FREE_TAIL as ZONE_FREE_TAIL_, ZONE_MANAGED_PAGES as ZONE_MANAGED_PAGES_, ZONE_NR_FREE as ZONE_NR_FREE_,
} from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import {
  MAX_PAGE_ORDER as MAX_PAGE_ORDER_, NR_PAGE_ORDERS as NR_PAGE_ORDERS_, PAGEBLOCK_NR_PAGES as PAGEBLOCK_NR_PAGES_, PAGEBLOCK_ORDER as PAGEBLOCK_ORDER_,
} from '../../native-layout/shape.js';

// Local copies: hot loops read these per frame, and a test runner's module
// transform can turn imported bindings into property loads.
const FRAME_F_HEAD = FRAME_F_HEAD_;
const FRAME_F_TAIL = FRAME_F_TAIL_;
const FRAME_ORDER_MASK = FRAME_ORDER_MASK_;
const FRAME_ORDER_SHIFT = FRAME_ORDER_SHIFT_;
const FRAME_PCP_FT_MASK = FRAME_PCP_FT_MASK_;
const FRAME_PCP_FT_SHIFT = FRAME_PCP_FT_SHIFT_;
const FRAME_STATE_MASK = FRAME_STATE_MASK_;
const FRAME_STATE_NAMES = FRAME_STATE_NAMES_;
const FS_ALLOCATED = FS_ALLOCATED_;
const FS_FREE_HEAD = FS_FREE_HEAD_;
const FS_FREE_TAIL = FS_FREE_TAIL_;
const FS_PAGETABLE = FS_PAGETABLE_;
const FS_PCP = FS_PCP_;
const FS_RESERVED = FS_RESERVED_;
const FS_TRANSIT = FS_TRANSIT_;
const MIGRATE_ISOLATE = MIGRATE_ISOLATE_;
const MIGRATE_PCPTYPES = MIGRATE_PCPTYPES_;
const MIGRATE_TYPES = MIGRATE_TYPES_;
const NR_FREETYPES = NR_FREETYPES_;
const NR_LOWORDER_PCP_LISTS = NR_LOWORDER_PCP_LISTS_;
const NR_PCP_LISTS = NR_PCP_LISTS_;
const NR_PCP_LISTS_FT = NR_PCP_LISTS_FT_;
const PB_BITS = PB_BITS_;
const PB_ISOLATE = PB_ISOLATE_;
const PB_MIGRATE_MASK = PB_MIGRATE_MASK_;
const PB_NONSENSITIVE = PB_NONSENSITIVE_;
const PB_PER_WORD = PB_PER_WORD_;
const FRAME_STRIDE = FRAME_STRIDE_;
const FR_FLAGS = FR_FLAGS_;
const FR_NEXT = FR_NEXT_;
const FR_PREV = FR_PREV_;
const FR_PRIVATE = FR_PRIVATE_;
const PCP_COUNT = PCP_COUNT_;
const PCP_HEAD = PCP_HEAD_;
const PCP_STRIDE = PCP_STRIDE_;
const PCP_TAIL = PCP_TAIL_;
const ZONE_FREE_HEAD = ZONE_FREE_HEAD_;
const ZONE_FREE_PAGES = ZONE_FREE_PAGES_;
const ZONE_FREE_TAIL = ZONE_FREE_TAIL_;
const ZONE_MANAGED_PAGES = ZONE_MANAGED_PAGES_;
const ZONE_NR_FREE = ZONE_NR_FREE_;
const MAX_PAGE_ORDER = MAX_PAGE_ORDER_;
const NR_PAGE_ORDERS = NR_PAGE_ORDERS_;
const PAGEBLOCK_NR_PAGES = PAGEBLOCK_NR_PAGES_;
const PAGEBLOCK_ORDER = PAGEBLOCK_ORDER_;

export type AllocatorViolationKind =
  | 'conservation' | 'list' | 'counter' | 'maximality' | 'pageblock' | 'pcp' | 'allocated';

export interface AllocatorViolation {
  readonly kind: AllocatorViolationKind;
  /** The frame the violation is about, -1 when it is about a counter or list as a whole. */
  readonly pfn: number;
  readonly message: string;
}

/** Past this many the report is truncated; the first ones are the useful ones. */
const MAX_VIOLATIONS = 64;

const COVER_NONE = 0;
const COVER_BUDDY = 1;
const COVER_PCP = 2;
const COVER_ALLOC = 3;
const COVER_OTHER = 4;
const COVER_NAMES = ['nothing', 'a free block', 'a pcp block', 'an allocation', 'a page table or transit frame'];

const MT_NAMES = ['unmovable', 'movable', 'reclaimable', 'highatomic', 'isolate'];

function ftName(ft: number): string {
  const mt = ft % MIGRATE_TYPES;
  return `${MT_NAMES[mt] ?? `mt${mt}`}${ft >= MIGRATE_TYPES ? '/nonsensitive' : ''}`;
}

function stateOf(flags: number): string {
  return FRAME_STATE_NAMES[flags & FRAME_STATE_MASK] ?? `state${flags & FRAME_STATE_MASK}`;
}

/** The pageblock's freetype from its raw flag byte (isolation reads as MIGRATE_ISOLATE). */
function blockFreetype(pb: Int32Array, pfn: number): number {
  const blk = Math.floor(pfn / PAGEBLOCK_NR_PAGES);
  const b = (pb[Math.floor(blk / PB_PER_WORD)]! >>> ((blk % PB_PER_WORD) * PB_BITS)) & ((1 << PB_BITS) - 1);
  const mt = (b & PB_ISOLATE) !== 0 ? MIGRATE_ISOLATE : b & PB_MIGRATE_MASK;
  return mt + ((b & PB_NONSENSITIVE) !== 0 ? MIGRATE_TYPES : 0);
}

/** Whether two free buddies of these freetypes must have coalesced across a pageblock boundary. */
function mustMerge(a: number, b: number): boolean {
  if (a === b) return true;
  const laneA = a >= MIGRATE_TYPES ? 1 : 0;
  const laneB = b >= MIGRATE_TYPES ? 1 : 0;
  return laneA === laneB && a % MIGRATE_TYPES < MIGRATE_PCPTYPES && b % MIGRATE_TYPES < MIGRATE_PCPTYPES;
}

function pcpListOrder(pindex: number): number {
  const p = pindex % NR_PCP_LISTS;
  return p < NR_LOWORDER_PCP_LISTS ? Math.floor(p / MIGRATE_PCPTYPES) : PAGEBLOCK_ORDER;
}

class Report {
  readonly list: AllocatorViolation[] = [];
  dropped = 0;
  add(kind: AllocatorViolationKind, pfn: number, message: string): void {
    if (this.list.length < MAX_VIOLATIONS) this.list.push({ kind, pfn, message });
    else this.dropped++;
  }
}

/** All allocator invariant violations in the machine; empty when healthy. */
export function checkAllocator(mem: MachineMemory): AllocatorViolation[] {
  const { frame, zone, pcp, pageblock } = mem.views;
  const frames = mem.layout.frames;
  const cpus = mem.layout.shape.cpus;
  const r = new Report();
  const cover = new Uint8Array(frames);
  /** Freetype + 1 of listed buddy heads (0: not a listed head). */
  const listedFt = new Int8Array(frames);
  /** Set once a list walk reached the frame: no frame is on two lists or twice on one. */
  const onList = new Uint8Array(frames);
  const flagsAt = (pfn: number): number => frame[pfn * FRAME_STRIDE + FR_FLAGS]!;
  const orderOf = (flags: number): number => (flags & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT;
  const tagOf = (flags: number): number => (flags & FRAME_PCP_FT_MASK) >> FRAME_PCP_FT_SHIFT;

  /** Marks [pfn, pfn + n) as covered by `what`; reports double coverage. */
  const claimFrames = (pfn: number, n: number, what: number): void => {
    for (let p = pfn; p < pfn + n && p < frames; p++) {
      if (cover[p] !== COVER_NONE) {
        r.add('conservation', p, `frame ${p} is in ${COVER_NAMES[what]} at ${pfn} and also in ${COVER_NAMES[cover[p]!]} (double allocation or overlapping blocks)`);
      } else {
        cover[p] = what;
      }
    }
  };

  /**
   * Walks one doubly linked list; returns its elements. Bounded, and stops at
   * the first broken link, so corrupted lists are reported, not looped on.
   */
  const walk = (name: string, head: number, tail: number, kind: 'list' | 'pcp'): number[] => {
    const out: number[] = [];
    let prev = -1;
    let p = head;
    while (p !== -1) {
      if (!Number.isInteger(p) || p < 0 || p >= frames) {
        r.add(kind, prev, `${name}: link to pfn ${p} outside memory after ${prev}`);
        return out;
      }
      if (onList[p] !== 0) {
        r.add(kind, p, `${name}: pfn ${p} is reached twice (a cycle, or linked into two lists)`);
        return out;
      }
      onList[p] = 1;
      const back = frame[p * FRAME_STRIDE + FR_PREV]!;
      if (back !== prev) r.add(kind, p, `${name}: pfn ${p}.prev is ${back}, expected ${prev}`);
      out.push(p);
      prev = p;
      p = frame[p * FRAME_STRIDE + FR_NEXT]!;
    }
    if (tail !== prev) r.add(kind, tail, `${name}: tail is ${tail} but the last element is ${prev}`);
    return out;
  };

  // ---- buddy free lists -------------------------------------------------------
  let buddyFrames = 0;
  for (let order = 0; order < NR_PAGE_ORDERS; order++) {
    let blocks = 0;
    for (let ft = 0; ft < NR_FREETYPES; ft++) {
      const li = order * NR_FREETYPES + ft;
      const name = `free list order ${order} ${ftName(ft)}`;
      const elems = walk(name, zone[ZONE_FREE_HEAD + li]!, zone[ZONE_FREE_TAIL + li]!, 'list');
      blocks += elems.length;
      for (const pfn of elems) {
        const flags = flagsAt(pfn);
        const n = 1 << order;
        if ((flags & FRAME_STATE_MASK) !== FS_FREE_HEAD) {
          r.add('list', pfn, `${name}: pfn ${pfn} is ${stateOf(flags)}, not free-head`);
        } else if (orderOf(flags) !== order) {
          r.add('list', pfn, `${name}: pfn ${pfn} has buddy order ${orderOf(flags)}`);
        }
        if (tagOf(flags) !== ft) r.add('list', pfn, `${name}: pfn ${pfn} is tagged ${ftName(tagOf(flags))}`);
        if (pfn % n !== 0) r.add('list', pfn, `${name}: pfn ${pfn} is not aligned to ${n}`);
        if (pfn + n > frames) r.add('list', pfn, `${name}: block at ${pfn} runs past the end of memory`);
        for (let t = pfn + 1; t < pfn + n && t < frames; t++) {
          const tf = flagsAt(t);
          if ((tf & FRAME_STATE_MASK) !== FS_FREE_TAIL) {
            r.add('conservation', t, `free block ${pfn} (order ${order}) covers frame ${t} which is ${stateOf(tf)}`);
          }
        }
        claimFrames(pfn, n, COVER_BUDDY);
        if (pfn < frames) listedFt[pfn] = ft + 1;
        buddyFrames += n;
        // List/pageblock agreement: a free block sits on its block's current freetype.
        for (let b = pfn; b < pfn + Math.max(n, 1) && b < frames; b += PAGEBLOCK_NR_PAGES) {
          const bft = blockFreetype(pageblock, b);
          if (bft !== ft) {
            r.add('pageblock', pfn, `free block ${pfn} (order ${order}) is on the ${ftName(ft)} list but pageblock ${Math.floor(b / PAGEBLOCK_NR_PAGES)} is ${ftName(bft)}`);
            break;
          }
        }
      }
    }
    const nrFree = zone[ZONE_NR_FREE + order]!;
    if (nrFree !== blocks) r.add('counter', -1, `nr_free[${order}] is ${nrFree} but the lists hold ${blocks} blocks`);
  }
  const freePages = zone[ZONE_FREE_PAGES]!;
  if (freePages !== buddyFrames) r.add('counter', -1, `NR_FREE_PAGES is ${freePages} but the lists hold ${buddyFrames} frames`);

  // ---- buddy maximality -------------------------------------------------------
  for (let pfn = 0; pfn < frames; pfn++) {
    const lf = listedFt[pfn]!;
    if (lf === 0) continue;
    const order = orderOf(flagsAt(pfn));
    if (order >= MAX_PAGE_ORDER) continue;
    const buddy = pfn ^ (1 << order);
    if (buddy < pfn || buddy >= frames) continue;
    const bf = listedFt[buddy]!;
    if (bf === 0 || orderOf(flagsAt(buddy)) !== order) continue;
    const merge = order < PAGEBLOCK_ORDER ? (lf >= MIGRATE_TYPES + 1) === (bf >= MIGRATE_TYPES + 1) : mustMerge(lf - 1, bf - 1);
    if (merge) {
      r.add('maximality', pfn, `free buddies ${pfn} and ${buddy} of order ${order} (${ftName(lf - 1)}, ${ftName(bf - 1)}) were not merged`);
    }
  }

  // ---- per-CPU lists ------------------------------------------------------------
  let pcpFrames = 0;
  for (let cpu = 0; cpu < cpus; cpu++) {
    const base = cpu * PCP_STRIDE;
    let cached = 0;
    for (let pi = 0; pi < NR_PCP_LISTS_FT; pi++) {
      const name = `cpu ${cpu} pcp list ${pi}`;
      const order = pcpListOrder(pi);
      const lane = pi >= NR_PCP_LISTS ? 1 : 0;
      const elems = walk(name, pcp[base + PCP_HEAD + pi]!, pcp[base + PCP_TAIL + pi]!, 'pcp');
      for (const pfn of elems) {
        const flags = flagsAt(pfn);
        const n = 1 << order;
        if ((flags & FRAME_STATE_MASK) !== FS_PCP) r.add('pcp', pfn, `${name}: pfn ${pfn} is ${stateOf(flags)}, not pcp`);
        if (orderOf(flags) !== order) r.add('pcp', pfn, `${name}: pfn ${pfn} has order ${orderOf(flags)}, list is order ${order}`);
        if ((flags & FRAME_F_TAIL) !== 0) r.add('pcp', pfn, `${name}: pfn ${pfn} is a tail frame`);
        const owner = frame[pfn * FRAME_STRIDE + FR_PRIVATE]!;
        if (owner !== cpu) r.add('pcp', pfn, `${name}: pfn ${pfn} says it belongs to cpu ${owner}`);
        if (pfn % n !== 0) r.add('pcp', pfn, `${name}: pfn ${pfn} is not aligned to ${n}`);
        const tagLane = tagOf(flags) >= MIGRATE_TYPES ? 1 : 0;
        const blockLane = blockFreetype(pageblock, pfn) >= MIGRATE_TYPES ? 1 : 0;
        if (tagLane !== lane || blockLane !== lane) {
          r.add('pcp', pfn, `${name}: pfn ${pfn} on the ${lane ? 'nonsensitive' : 'sensitive'} lane, tagged ${ftName(tagOf(flags))}, block is ${ftName(blockFreetype(pageblock, pfn))}`);
        }
        for (let t = pfn + 1; t < pfn + n && t < frames; t++) {
          const tf = flagsAt(t);
          if ((tf & FRAME_STATE_MASK) !== FS_PCP || (tf & FRAME_F_TAIL) === 0 || orderOf(tf) !== order) {
            r.add('pcp', t, `pcp block ${pfn} (order ${order}) covers frame ${t} which is ${stateOf(tf)}`);
          }
        }
        claimFrames(pfn, n, COVER_PCP);
        cached += n;
      }
    }
    const count = pcp[base + PCP_COUNT]!;
    if (count !== cached) r.add('counter', -1, `cpu ${cpu} pcp count is ${count} but its lists hold ${cached} frames`);
    pcpFrames += cached;
  }

  // ---- allocations, page tables, transit, and anything left over ---------------
  let allocFrames = 0;
  let otherFrames = 0;
  let reserved = 0;
  for (let pfn = 0; pfn < frames; pfn++) {
    if (cover[pfn] !== COVER_NONE) continue;
    const flags = flagsAt(pfn);
    const state = flags & FRAME_STATE_MASK;
    if (state === FS_ALLOCATED && (flags & FRAME_F_HEAD) !== 0) {
      const order = orderOf(flags);
      const n = 1 << order;
      if (order > MAX_PAGE_ORDER || pfn % n !== 0 || pfn + n > frames) {
        r.add('allocated', pfn, `allocation at ${pfn} has order ${order}, which does not fit there`);
        claimFrames(pfn, 1, COVER_ALLOC);
        allocFrames++;
        continue;
      }
      for (let t = pfn + 1; t < pfn + n; t++) {
        const tf = flagsAt(t);
        if ((tf & FRAME_STATE_MASK) !== FS_ALLOCATED || (tf & FRAME_F_TAIL) === 0 || orderOf(tf) !== order) {
          r.add('allocated', t, `allocation ${pfn} (order ${order}) covers frame ${t} which is ${stateOf(tf)}${(tf & FRAME_F_HEAD) ? ' head' : ''} of order ${orderOf(tf)}`);
        }
      }
      claimFrames(pfn, n, COVER_ALLOC);
      allocFrames += n;
    } else if (state === FS_PAGETABLE || state === FS_TRANSIT) {
      claimFrames(pfn, 1, COVER_OTHER);
      otherFrames++;
    } else if (state === FS_RESERVED) {
      reserved++;
    } else {
      const why = state === FS_FREE_TAIL ? 'a free tail outside every listed free block (lost)'
        : state === FS_FREE_HEAD ? 'a free head on no free list (lost)'
          : state === FS_PCP ? 'a pcp frame on no CPU\'s list (lost)'
            : state === FS_ALLOCATED ? 'an allocation tail without its head'
              : `in unknown state ${state}`;
      r.add('conservation', pfn, `frame ${pfn} is ${why}`);
    }
  }
  const managed = zone[ZONE_MANAGED_PAGES]!;
  const total = buddyFrames + pcpFrames + allocFrames + otherFrames;
  if (total !== managed || managed + reserved !== frames) {
    r.add('conservation', -1, `free ${buddyFrames} + pcp ${pcpFrames} + allocated ${allocFrames} + page tables/transit ${otherFrames} = ${total}, managed frames ${managed}, reserved ${reserved}, memory ${frames}`);
  }
  if (r.dropped > 0) r.list.push({ kind: r.list[0]!.kind, pfn: -1, message: `... and ${r.dropped} more` });
  return r.list;
}

export class AllocatorInvariantError extends Error {
  override name = 'AllocatorInvariantError';
  constructor(readonly violations: readonly AllocatorViolation[]) {
    super(`allocator invariants violated (${violations.length}):\n${violations.map((v) => `  [${v.kind}] ${v.message}`).join('\n')}`);
  }
}

/** Throws AllocatorInvariantError listing every violation. */
export function assertAllocatorHealthy(mem: MachineMemory): void {
  const v = checkAllocator(mem);
  if (v.length > 0) throw new AllocatorInvariantError(v);
}
