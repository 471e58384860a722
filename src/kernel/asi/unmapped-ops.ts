// The kernel's half of unmapped allocations (page_alloc/unmapped.ts): the
// ordinary direct map's 2 MiB leaf of a block, cleared and written back in
// init_mm's tables (which every PGD shares: direct-map.ts), the
// kernel-range shootdown, and the oracle's check at the moment the block
// becomes unmapped: no CPU's TLB still holds a direct-map entry for it
// (the shootdown was acknowledged by every CPU and a cleared PMD cannot be
// refilled, so such an entry is the bug of a missing or partial flush).
// Reported as unmapped-direct-map with the CPU that cached it (fillGen).
//
// A machine booted without the ordinary direct map (scenarios that never
// touch it) has no leaf to clear: the block is absent from every direct
// map already, and nothing needs flushing.

import { INIT_MM, PTE_G, PTE_NOGEN, PTE_RW } from '../../../native-layout/bits.js';
import { MM_PGD, MM_STRIDE } from '../../../native-layout/fields.js';
import { PAGEBLOCK_NR_PAGES } from '../../../native-layout/shape.js';
import { V_UNMAPPED_DIRECT, reportViolation } from '../../check/oracle.js';
import { Tlb } from '../../hw/tlb.js';
import type { KernelCtx } from '../ctx.js';
import { PteRef, lookupAddress, mapPmd, unmapLeaf } from '../mm/pgtable.js';
import { PageAllocator } from '../page_alloc/index.js';
import type { UnmappedOps } from '../page_alloc/unmapped.js';
import { flushTlbKernelRange } from '../tlb/flush-kernel.js';
import { irqsOff } from '../tlb/flush-func.js';
import { physmapVa } from './layout.js';

/** The unmapped operations of CPU k (one object per CPU, built once). */
export class KernelUnmappedOps implements UnmappedOps {
  private readonly tlbs: readonly Tlb[];
  private readonly ref = new PteRef();

  constructor(private readonly k: KernelCtx) {
    this.tlbs = Array.from({ length: k.cpus }, (_, c) => new Tlb(k.mem, c));
  }

  irqsOff(_cpu: number): boolean {
    return irqsOff(this.k);
  }

  private root(): number {
    return this.k.mm[INIT_MM * MM_STRIDE + MM_PGD]!;
  }

  unmapDirect(_cpu: number, pfn: number): boolean {
    const level = lookupAddress(this.k.env, this.root(), physmapVa(pfn), this.ref);
    if (level !== 2) return false;
    unmapLeaf(this.k.env, this.root(), physmapVa(pfn), this.ref);
    return true;
  }

  flushDirect(_cpu: number, pfn: number): void {
    flushTlbKernelRange(this.k, physmapVa(pfn), physmapVa(pfn + PAGEBLOCK_NR_PAGES));
  }

  /**
   * The leaf as directMapInit wrote it (global unless ASI is on), into the
   * PMD table the clear left in place (so no allocation). Any CPU may free
   * the block: the pageblock says a leaf was removed, whoever removed it.
   */
  restoreDirect(_cpu: number, pfn: number): void {
    const k = this.k;
    const prot = PTE_RW | PTE_NOGEN | (k.variant.asi ? 0 : PTE_G);
    mapPmd(k.env, k.cpu, this.root(), physmapVa(pfn), pfn, prot);
  }

  auditUnmapped(_cpu: number, pfn: number): void {
    const k = this.k;
    const va = physmapVa(pfn);
    for (let c = 0; c < this.tlbs.length; c++) {
      if (this.tlbs[c]!.findHuge2mAnyPcid(va) < 0) continue;
      const w = k.mmu.walker;
      reportViolation(k.views, k.cpu, V_UNMAPPED_DIRECT, va, pfn, c, 0, w.task, w.op);
      return;
    }
  }
}

/** Installs the unmapped path on k's allocator handle (every CPU, ASI or not). */
export function installUnmappedOps(k: KernelCtx): void {
  if (k.alloc instanceof PageAllocator) k.alloc.ctx.unmappedOps = new KernelUnmappedOps(k);
}
