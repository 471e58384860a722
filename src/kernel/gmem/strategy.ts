// guest_memfd's direct-map strategies (issue 8; SEMANTICS.md §8;
// reference/page_alloc_freetypes.md §3): how a folio of a
// GUEST_MEMFD_FLAG_NO_DIRECT_MAP file leaves the direct map when it is
// allocated for the guest and comes back when it is freed. One seam
// (GmemStrategy), three designs:
//
// (a) per-folio, the posted series (kvm_gmem_folio_zap_direct_map() /
//     kvm_gmem_free_folio()): allocate an ordinary page, clear its
//     direct-map leaf (splitting 1G -> 2M -> 4K as needed, each split a
//     page-table page from the allocator), then flush_tlb_kernel_range()
//     over it: an IPI to every CPU on every guest fault. On free, scrub
//     the page, write its PTE back, THEN give it to the allocator; the
//     other order is the secretmem error-path bug (restore-after-free):
//     the next owner's first kernel access faults.
// (b) no-flush, the disputed module parameter (patch 06,
//     guest_memfd_tlb_flush=false): (a) without the flush. "Functionally
//     correct": nobody faults. But every CPU that had the page's direct-map
//     translation cached (a 2 MiB or 1 GiB entry covering it, from any
//     kernel access nearby) keeps it, and a speculative load through it
//     reads the guest's data: the oracle reports gmem-direct-map.
// (c) freetype, Jackman's proposal (2025-10-30) as it became ALLOC_UNMAPPED:
//     allocate from pageblocks already absent from the direct map (the
//     VM's unmapped pool over FREETYPE_UNMAPPED blocks); a flush happens
//     only when a new pageblock is converted, so one shootdown serves 512
//     faults, and a page freed by the guest is reused without any.

import { C } from '../../../native-layout/counters.js';
import { BUG, injected } from '../../check/bugs.js';
import { zeroFrame } from '../../hw/frames.js';
import { physmapVa } from '../asi/layout.js';
import type { KernelCtx } from '../ctx.js';
import { GFP_KERNEL } from '../page_alloc/gfp.js';
import type { GmemStrategyName } from '../variant.js';
import { flushTlbKernelRange } from '../tlb/flush-kernel.js';
import type { GmemAllocator } from './alloc-context.js';
import type { GmemDirectMap } from './direct-map.js';
import type { UnmappedPool } from './unmapped-pool.js';

const PAGE = 4096;
const BUG_GMEM_SKIP_FLUSH = BUG['gmem-skip-flush']!;
const BUG_RESTORE_AFTER_FREE = BUG['restore-after-free']!;

/** What one CPU's strategy works with. */
export interface GmemCpuParts {
  readonly k: KernelCtx;
  readonly dm: GmemDirectMap;
  readonly alloc: GmemAllocator;
  /** The vCPU's unmapped pool (strategy c); null on CPUs that run no vCPU. */
  readonly pool: UnmappedPool | null;
}

/** A guest_memfd direct-map strategy: the seam every design implements. */
export interface GmemStrategy {
  readonly name: GmemStrategyName;
  /**
   * kvm_gmem_get_folio() + prepare: an order-0 folio absent from the direct
   * map (and from every TLB, unless the strategy is (b)), zeroed; its pfn,
   * or -1 when memory (or a split's page table) could not be had.
   */
  allocFolio(g: GmemCpuParts): number;
  /** ->free_folio(): the folio left the file (its second-level entry is already gone). */
  freeFolio(g: GmemCpuParts, pfn: number): void;
}

/** (a) and (b): zap per folio at allocation, restore per folio at free. */
class PerFolio implements GmemStrategy {
  constructor(readonly name: GmemStrategyName, private readonly flush: boolean) {}

  allocFolio(g: GmemCpuParts): number {
    const k = g.k;
    const pfn = g.alloc.allocPages(k.cpu, 0, GFP_KERNEL);
    if (pfn < 0) return -1;
    zeroFrame(k.frame, pfn);
    if (g.dm.invalidate(pfn, 1) < 0) {
      g.alloc.freePages(k.cpu, pfn, 0);
      return -1;
    }
    // The leaf is gone but every CPU may still translate it (a 4 KiB entry,
    // or the 2 MiB / 1 GiB entry of the leaf it was split from): only once
    // they all acked may guest data go in. Skip it (no-flush, or the bug)
    // and the guest writes under CPUs that can still read it.
    if (this.flush && injected[BUG_GMEM_SKIP_FLUSH] === 0) {
      flushTlbKernelRange(k, physmapVa(pfn), physmapVa(pfn) + PAGE);
      k.counters[k.countersAt + C.gmemKernelFlushes] += 1;
    }
    return pfn;
  }

  freeFolio(g: GmemCpuParts, pfn: number): void {
    const k = g.k;
    // Scrubbed while nothing maps it: the direct map will expose the frame.
    zeroFrame(k.frame, pfn);
    if (injected[BUG_RESTORE_AFTER_FREE] !== 0) {
      // secretmem's 2025 error path: the frame is the allocator's (and maybe
      // already the next owner's) while its direct-map entry is still gone.
      g.alloc.freePages(k.cpu, pfn, 0);
      g.dm.restore(pfn, 1);
      return;
    }
    // Making an entry valid needs no flush (nothing caches a non-present
    // entry), and cannot need a table: the zap split down to 4 KiB.
    g.dm.restore(pfn, 1);
    g.alloc.freePages(k.cpu, pfn, 0);
  }
}

/** (c): the unmapped freetype, through the VM's pool. */
class Freetype implements GmemStrategy {
  readonly name = 'freetype' as const;

  allocFolio(g: GmemCpuParts): number {
    const k = g.k;
    // memalloc_unmapped_save(): everything allocated in here is unmapped,
    // including what the direct map's split asks for (direct-map.ts).
    g.dm.flags.unmappedScope++;
    let pfn: number;
    try {
      pfn = g.alloc.allocPages(k.cpu, 0, GFP_KERNEL);
    } finally {
      g.dm.flags.unmappedScope--;
    }
    if (pfn >= 0) zeroFrame(k.frame, pfn);
    return pfn;
  }

  freeFolio(g: GmemCpuParts, pfn: number): void {
    zeroFrame(g.k.frame, pfn);
    g.pool!.freeOne(g.k.cpu, pfn);
  }
}

/** The strategy object for a name (one per CPU, built once). */
export function gmemStrategy(name: GmemStrategyName): GmemStrategy {
  if (name === 'freetype') return new Freetype();
  return new PerFolio(name, name === 'per-folio');
}
