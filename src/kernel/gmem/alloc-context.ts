// The page allocator as one CPU of a guest_memfd machine calls it (issue
// 8): the buddy allocator (PageAllocator) behind two things the kernel
// does at the allocator's door.
//
// 1. current_gfp_context() (include/linux/sched/mm.h): the running task's
//    allocation scope is applied to every request it makes, including the
//    ones made on its behalf deep inside other code (PF_MEMALLOC_NOFS is
//    how a filesystem stops nested allocations from recursing into it).
//    guest memory is allocated under an "unmapped" scope, so an order-0
//    request made inside it is served from the VM's unmapped pool. That is
//    also what the direct map's split asks for its page table while the
//    scope is open: the nested request that makes the recursion hazard
//    real (direct-map.ts). Answer (i) is here: while the task is inside
//    the direct-map [un]map path (its PF_MEMALLOC-like flag), a request
//    refuses the unmapped path and takes ordinary mapped memory, counted
//    as recursionRefusals.
//
// 2. A check at the free path, as the kernel's debug_pagealloc/bad_page
//    checks at free_pages_prepare(): a frame reaching the allocator must
//    be reachable through the direct map (unless its pageblock is
//    FREETYPE_UNMAPPED, which the allocator restores itself). The
//    secretmem bug of 2025 freed a folio before restoring its direct-map
//    entry; the next owner faulted on its first kernel access. Reported
//    as direct-map-hole (restore-after-free).

import { C } from '../../../native-layout/counters.js';
import { reportDirectMapHole } from '../../check/gmem.js';
import type { KernelCtx } from '../ctx.js';
import type { FrameAllocator } from '../mm/pgtable.js';
import { __GFP_UNMAPPED } from '../page_alloc/gfp.js';
import type { PageAllocator } from '../page_alloc/index.js';
import { pageblockUnmapped } from '../page_alloc/unmapped.js';
import { ANSWER_REFUSE, type GmemDirectMap, GmemTaskFlags } from './direct-map.js';
import type { UnmappedPool } from './unmapped-pool.js';

/** The allocator handle of one CPU of a guest_memfd machine (k.alloc). */
export class GmemAllocator implements FrameAllocator {
  /** The running task's flags (shared with this CPU's GmemDirectMap once attached). */
  flags = new GmemTaskFlags();
  private dm: GmemDirectMap | null = null;
  private k: KernelCtx | null = null;
  /** The VM pool scoped requests go to (the vCPU's); null: no scope can be served. */
  pool: UnmappedPool | null = null;

  constructor(readonly pa: PageAllocator) {}

  /** Wires the CPU's kernel context and direct-map handle (after cpuBringup). */
  attach(k: KernelCtx, dm: GmemDirectMap): void {
    this.k = k;
    this.dm = dm;
    this.flags = dm.flags;
  }

  allocPages(cpu: number, order: number, gfp: number): number {
    const f = this.flags;
    if (f.unmappedScope > 0 && order === 0 && (gfp & __GFP_UNMAPPED) === 0 && this.pool !== null) {
      // Inside the [un]map path with answer (i): refuse the unmapped path.
      if (f.inDirectMap > 0 && this.dm !== null && this.dm.answer() === ANSWER_REFUSE) {
        const k = this.k!;
        k.counters[k.countersAt + C.recursionRefusals] += 1;
        return this.pa.allocPages(cpu, order, gfp);
      }
      return this.pool.allocOne(cpu);
    }
    return this.pa.allocPages(cpu, order, gfp);
  }

  freePages(cpu: number, pfn: number, order: number): void {
    const dm = this.dm;
    if (dm !== null && !pageblockUnmapped(this.pa.ctx.pageblock, pfn) && !dm.mapped(pfn)) reportDirectMapHole(dm.k, pfn, order);
    this.pa.freePages(cpu, pfn, order);
  }
}
