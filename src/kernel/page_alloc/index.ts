// The buddy page allocator of the emulated kernel (mm/page_alloc.c). All
// state lives in the machine's SharedArrayBuffer; a PageAllocator is just
// this thread's handle on it, so every CPU worker attaches its own.

import type { MachineMemory } from '../../../native-layout/memory.js';
import { MAX_PAGE_ORDER as MAX_PAGE_ORDER_ } from '../../../native-layout/shape.js';
import { PCP_COUNT as PCP_COUNT_, PCP_STRIDE as PCP_STRIDE_, ZONE_FREE_PAGES as ZONE_FREE_PAGES_ } from '../../../native-layout/fields.js';
import { allocPagesCore } from './alloc.js';
import { type AllocCtx, type AllocatorOptions, makeCtx } from './ctx.js';
import { freePagesCore } from './free.js';
import { type BootOptions, bootZone } from './init.js';
import { drainAllPages, drainPagesZone } from './pcp.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MAX_PAGE_ORDER = MAX_PAGE_ORDER_, PCP_COUNT = PCP_COUNT_, PCP_STRIDE = PCP_STRIDE_, ZONE_FREE_PAGES = ZONE_FREE_PAGES_;

export * from './gfp.js';
export { BadPageError } from './prep.js';
export type { AllocatorOptions, AllocCtx } from './ctx.js';
export type { BootOptions } from './init.js';
export {
  getPageblockFreetype, getPageblockMigratetype, pageblockFlags, setPageblockNonsensitive, setPageblockSkip,
  setPageblockUpdateHook,
} from './pageblock.js';
export { freetypeOf, ftMigratetype, ftNonsensitive, canMergeFreetypes } from './freetype.js';
export { orderToPindex, pindexToOrder, pcpAllowedOrder } from './pcp.js';
export { FALLBACKS, CLAIM_THRESHOLD } from './fallback.js';

export class PageAllocator {
  readonly ctx: AllocCtx;

  /** Attaches to a machine whose zone was already booted (no initialisation). */
  constructor(mem: MachineMemory, opts: AllocatorOptions = {}) {
    this.ctx = makeCtx(mem, opts);
  }

  /** Initialises the zone of a fresh machine and returns an allocator on it. */
  static boot(mem: MachineMemory, opts: AllocatorOptions & BootOptions = {}): PageAllocator {
    bootZone(mem, opts);
    return new PageAllocator(mem, opts);
  }

  /** A 2^order block for `gfp`; its first pfn, or -1 when the zone cannot serve it. */
  allocPages(cpu: number, order: number, gfp: number): number {
    this.checkCpu(cpu);
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
      throw new RangeError(`order ${order} is invalid: use 0..${MAX_PAGE_ORDER}`);
    }
    return allocPagesCore(this.ctx, cpu, order, gfp);
  }

  /** Frees a block from allocPages with the same order; BadPageError if it is not one. */
  freePages(cpu: number, pfn: number, order: number): void {
    this.checkCpu(cpu);
    freePagesCore(this.ctx, cpu, pfn, order);
  }

  /** drain_local_pages(): this CPU's cached frames back to the buddy. */
  drainLocalPages(cpu: number): void {
    this.checkCpu(cpu);
    drainPagesZone(this.ctx, cpu, cpu);
  }

  /** drain_all_pages(): every CPU's cached frames, each under its pcp lock. */
  drainAllPages(cpu: number): void {
    this.checkCpu(cpu);
    drainAllPages(this.ctx, cpu);
  }

  /** Frames not in use: the buddy's plus every CPU's cached ones (racy while CPUs run). */
  freePageCount(): number {
    const { zone, pcp, cpus } = this.ctx;
    let n = zone[ZONE_FREE_PAGES];
    for (let c = 0; c < cpus; c++) n += pcp[c * PCP_STRIDE + PCP_COUNT];
    return n;
  }

  private checkCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.ctx.cpus) {
      throw new RangeError(`cpu ${cpu} is invalid: use 0..${this.ctx.cpus - 1}`);
    }
  }
}
