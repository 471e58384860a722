// The kernel's half of unmapped allocations on a guest_memfd machine
// (issue 8): src/kernel/asi/unmapped-ops.ts assumes the direct map is
// made of 2 MiB leaves; here it may start at 1 GiB leaves (or be all
// 4 KiB), so the block's removal goes through the direct map's [un]map
// path (direct-map.ts), which splits, allocating its page table from
// inside the allocator: rmqueueUnmapped() calls unmapDirect() with the
// pageblock already taken and the zone lock dropped, as
// __rmqueue_direct_map() does.

import { C } from '../../../native-layout/counters.js';
import { PAGEBLOCK_NR_PAGES } from '../../../native-layout/shape.js';
import { BUG, injected } from '../../check/bugs.js';
import { V_UNMAPPED_DIRECT, reportViolation } from '../../check/oracle.js';
import { Tlb } from '../../hw/tlb.js';
import { physmapVa } from '../asi/layout.js';
import type { KernelCtx } from '../ctx.js';
import { ENOENT } from '../mm/pgtable.js';
import type { UnmappedOps } from '../page_alloc/unmapped.js';
import { flushTlbKernelRange } from '../tlb/flush-kernel.js';
import { irqsOff } from '../tlb/flush-func.js';
import { type GmemDirectMap, GmemDirectMapError } from './direct-map.js';

const BUG_GMEM_SKIP_FLUSH = BUG['gmem-skip-flush']!;

/** The unmapped operations of one CPU of a guest_memfd machine. */
export class GmemUnmappedOps implements UnmappedOps {
  private readonly tlbs: readonly Tlb[];

  constructor(private readonly k: KernelCtx, private readonly dm: GmemDirectMap) {
    this.tlbs = Array.from({ length: k.cpus }, (_, c) => new Tlb(k.mem, c));
  }

  irqsOff(_cpu: number): boolean {
    return irqsOff(this.k);
  }

  /**
   * Clears the block from the direct map, splitting a 1 GiB leaf first.
   * false: the block had no mapping to clear. A split that cannot get its
   * page table is an emulator fault (memory exhaustion is not modelled on
   * this path).
   */
  unmapDirect(_cpu: number, pfn: number): boolean {
    const r = this.dm.invalidate(pfn, PAGEBLOCK_NR_PAGES);
    if (r === 0) return true;
    if (r === ENOENT) return false;
    throw new GmemDirectMapError(`CPU ${this.k.cpu}: removing pageblock ${pfn} from the direct map failed (${r})`);
  }

  /** flush_tlb_kernel_range() over the block (skipped under gmem-skip-flush). */
  flushDirect(_cpu: number, pfn: number): void {
    const k = this.k;
    if (injected[BUG_GMEM_SKIP_FLUSH] !== 0) return;
    flushTlbKernelRange(k, physmapVa(pfn), physmapVa(pfn + PAGEBLOCK_NR_PAGES));
    k.counters[k.countersAt + C.gmemKernelFlushes] += 1;
  }

  restoreDirect(_cpu: number, pfn: number): void {
    this.dm.restore(pfn, PAGEBLOCK_NR_PAGES);
  }

  /**
   * Oracle at the moment the block becomes unmapped: no CPU's TLB holds a
   * direct-map translation of any of its pages, whatever the entry's size
   * (a racy read of other CPUs' TLBs, used only to find entries that must
   * not exist).
   */
  auditUnmapped(_cpu: number, pfn: number): void {
    const k = this.k;
    for (let c = 0; c < this.tlbs.length; c++) {
      const tlb = this.tlbs[c]!;
      for (let i = 0; i < PAGEBLOCK_NR_PAGES; i++) {
        const va = physmapVa(pfn + i);
        if (tlb.probePfn(va, 0) < 0) continue;
        const w = k.mmu.walker;
        reportViolation(k.views, k.cpu, V_UNMAPPED_DIRECT, va, pfn + i, c, 0, w.task, w.op);
        return;
      }
    }
  }
}
