// Boot: memmap_init() (every frame reserved-then-freed, every pageblock
// MIGRATE_MOVABLE, every block sensitive), zone and pcp sizing, and
// memblock_free_all() handing all memory to the buddy as max-order blocks.

import { lockdepDeclareOrder } from '../../check/lockdep.js';
import {
  FRAME_F_ZEROED as FRAME_F_ZEROED_, FS_FREE_TAIL as FS_FREE_TAIL_, MIGRATE_MOVABLE as MIGRATE_MOVABLE_, NR_FREETYPES as NR_FREETYPES_,
  NR_PCP_LISTS_FT as NR_PCP_LISTS_FT_, PB_BITS as PB_BITS_, PB_PER_WORD as PB_PER_WORD_,
} from '../../../native-layout/bits.js';
import {
  FRAME_STRIDE as FRAME_STRIDE_, FR_CONTENT as FR_CONTENT_, FR_CONTENT_GEN as FR_CONTENT_GEN_, FR_FLAGS as FR_FLAGS_, FR_NEXT as FR_NEXT_,
  FR_PREV as FR_PREV_, FR_PRIVATE as FR_PRIVATE_, FR_REFCOUNT as FR_REFCOUNT_, PCP_BATCH as PCP_BATCH_, PCP_COUNT as PCP_COUNT_,
  PCP_FREE_COUNT as PCP_FREE_COUNT_, PCP_HEAD as PCP_HEAD_, PCP_HIGH as PCP_HIGH_, PCP_STRIDE as PCP_STRIDE_, PCP_TAIL as PCP_TAIL_,
  ZONE_FREE_HEAD as ZONE_FREE_HEAD_, ZONE_FREE_PAGES as ZONE_FREE_PAGES_, ZONE_FREE_TAIL as ZONE_FREE_TAIL_,
  ZONE_MANAGED_PAGES as ZONE_MANAGED_PAGES_, ZONE_NR_FREE as ZONE_NR_FREE_, ZONE_NR_RESERVED_HIGHATOMIC as ZONE_NR_RESERVED_HIGHATOMIC_,
  ZONE_PCP_BATCH as ZONE_PCP_BATCH_, ZONE_PCP_HIGH as ZONE_PCP_HIGH_, ZONE_WMARK_HIGH as ZONE_WMARK_HIGH_, ZONE_WMARK_LOW as ZONE_WMARK_LOW_,
  ZONE_WMARK_MIN as ZONE_WMARK_MIN_,
} from '../../../native-layout/fields.js';
import type { MachineMemory } from '../../../native-layout/memory.js';
import {
  MAX_PAGE_ORDER as MAX_PAGE_ORDER_, NR_PAGE_ORDERS as NR_PAGE_ORDERS_, PAGEBLOCK_NR_PAGES as PAGEBLOCK_NR_PAGES_,
} from '../../../native-layout/shape.js';
import { freeOnePage } from './buddy.js';
import { makeCtx } from './ctx.js';
import { zoneBatchsize, zoneHighsize, zoneWatermarks } from './zone.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const FRAME_F_ZEROED = FRAME_F_ZEROED_, FS_FREE_TAIL = FS_FREE_TAIL_, MIGRATE_MOVABLE = MIGRATE_MOVABLE_, NR_FREETYPES = NR_FREETYPES_,
  NR_PCP_LISTS_FT = NR_PCP_LISTS_FT_, PB_BITS = PB_BITS_, PB_PER_WORD = PB_PER_WORD_, FRAME_STRIDE = FRAME_STRIDE_, FR_CONTENT = FR_CONTENT_,
  FR_CONTENT_GEN = FR_CONTENT_GEN_, FR_FLAGS = FR_FLAGS_, FR_NEXT = FR_NEXT_, FR_PREV = FR_PREV_, FR_PRIVATE = FR_PRIVATE_,
  FR_REFCOUNT = FR_REFCOUNT_, PCP_BATCH = PCP_BATCH_, PCP_COUNT = PCP_COUNT_, PCP_FREE_COUNT = PCP_FREE_COUNT_, PCP_HEAD = PCP_HEAD_,
  PCP_HIGH = PCP_HIGH_, PCP_STRIDE = PCP_STRIDE_, PCP_TAIL = PCP_TAIL_, ZONE_FREE_HEAD = ZONE_FREE_HEAD_, ZONE_FREE_PAGES = ZONE_FREE_PAGES_,
  ZONE_FREE_TAIL = ZONE_FREE_TAIL_, ZONE_MANAGED_PAGES = ZONE_MANAGED_PAGES_, ZONE_NR_FREE = ZONE_NR_FREE_,
  ZONE_NR_RESERVED_HIGHATOMIC = ZONE_NR_RESERVED_HIGHATOMIC_, ZONE_PCP_BATCH = ZONE_PCP_BATCH_, ZONE_PCP_HIGH = ZONE_PCP_HIGH_,
  ZONE_WMARK_HIGH = ZONE_WMARK_HIGH_, ZONE_WMARK_LOW = ZONE_WMARK_LOW_, ZONE_WMARK_MIN = ZONE_WMARK_MIN_, MAX_PAGE_ORDER = MAX_PAGE_ORDER_,
  NR_PAGE_ORDERS = NR_PAGE_ORDERS_, PAGEBLOCK_NR_PAGES = PAGEBLOCK_NR_PAGES_;

export interface BootOptions {
  /** Override zone_batchsize() (tests that want a real batch on a small zone). */
  readonly pcpBatch?: number;
  /** Override the pcp high mark. */
  readonly pcpHigh?: number;
}

function positiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
    throw new RangeError(`${name} ${v} is invalid: use a positive integer`);
  }
}

/** Initialises the allocator state of a fresh (zeroed) machine. Single-threaded: no CPU runs yet. */
export function bootZone(mem: MachineMemory, opts: BootOptions = {}): void {
  positiveInt('pcpBatch', opts.pcpBatch);
  positiveInt('pcpHigh', opts.pcpHigh);
  const ctx = makeCtx(mem);
  const { frame, zone, pcp, pageblock } = ctx;
  mem.views.lockdep.fill(0);
  mem.views.lockdepGraph.fill(0);
  lockdepDeclareOrder(mem.views);
  const frames = ctx.frames;

  for (let i = 0; i < frames * FRAME_STRIDE; i += FRAME_STRIDE) {
    // Fresh memory reads as zero, so it counts as zeroed.
    frame[i + FR_FLAGS] = FS_FREE_TAIL | FRAME_F_ZEROED;
    frame[i + FR_NEXT] = -1;
    frame[i + FR_PREV] = -1;
    frame[i + FR_PRIVATE] = 0;
    frame[i + FR_REFCOUNT] = 0;
    frame[i + FR_CONTENT_GEN] = 0;
    frame[i + FR_CONTENT] = 0;
  }

  const blocks = frames / PAGEBLOCK_NR_PAGES;
  pageblock.fill(0);
  for (let b = 0; b < blocks; b++) {
    const wi = Math.floor(b / PB_PER_WORD);
    pageblock[wi] |= MIGRATE_MOVABLE << ((b % PB_PER_WORD) * PB_BITS);
  }

  zone.fill(0);
  for (let i = 0; i < NR_PAGE_ORDERS * NR_FREETYPES; i++) {
    zone[ZONE_FREE_HEAD + i] = -1;
    zone[ZONE_FREE_TAIL + i] = -1;
  }
  const wm = zoneWatermarks(frames);
  const batch = opts.pcpBatch ?? zoneBatchsize(frames);
  const high = opts.pcpHigh ?? zoneHighsize(wm.low, batch, ctx.cpus);
  zone[ZONE_MANAGED_PAGES] = frames;
  zone[ZONE_WMARK_MIN] = wm.min;
  zone[ZONE_WMARK_LOW] = wm.low;
  zone[ZONE_WMARK_HIGH] = wm.high;
  zone[ZONE_NR_RESERVED_HIGHATOMIC] = 0;
  zone[ZONE_PCP_BATCH] = batch;
  zone[ZONE_PCP_HIGH] = high;
  for (let o = 0; o < NR_PAGE_ORDERS; o++) zone[ZONE_NR_FREE + o] = 0;
  zone[ZONE_FREE_PAGES] = 0;

  pcp.fill(0);
  for (let c = 0; c < ctx.cpus; c++) {
    const base = c * PCP_STRIDE;
    pcp[base + PCP_COUNT] = 0;
    pcp[base + PCP_HIGH] = high;
    pcp[base + PCP_BATCH] = batch;
    pcp[base + PCP_FREE_COUNT] = 0;
    for (let p = 0; p < NR_PCP_LISTS_FT; p++) {
      pcp[base + PCP_HEAD + p] = -1;
      pcp[base + PCP_TAIL + p] = -1;
    }
  }

  // __free_pages_core(..., FPI_TO_TAIL): ascending pfn order on the list.
  for (let pfn = 0; pfn < frames; pfn += 1 << MAX_PAGE_ORDER) {
    freeOnePage(ctx, pfn, MAX_PAGE_ORDER, MIGRATE_MOVABLE, true);
  }
}
