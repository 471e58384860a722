// The kernel's half of the sensitivity flip (page_alloc/flip.ts): physmap
// writes, the kernel-range shootdown, and the oracle's checks of this
// layer (SEMANTICS.md §9 item 2, issue 7 items 6a, 6b, 6d), installed on
// one CPU's allocator handle by installAsiFlip (cpuBringup does it on a
// machine booted with ASI).
//
// The checks, and why each holds in a correct kernel:
// - zeroed before mapped (6b): the flip zeroes the block before writing
//   its 2 MiB leaf; from that write on, a CPU in the nonsensitive space can
//   walk to it speculatively, so the check is made at the write itself.
// - nobody caches a block that became sensitive (6a): the bit is set only
//   after the shootdown of the block's physmap range was acknowledged by
//   every CPU, and a cleared PMD cannot be refilled, so at that moment no
//   TLB anywhere holds a 2 MiB entry for it. Checked by looking at every
//   CPU's huge-page TLB set for the block's address (racy reads of other
//   CPUs' entries, but the entry looked for must not exist at all, and one
//   being filled would come from a walk that began before the clear and so
//   would have been acknowledged, and dropped, before the bit).
// - mapping = freetype (6d): at every allocation and free one pageblock
//   bit against one PMD entry, plus the request's sensitivity.

import { FRAME_F_ZEROED, PB_NONSENSITIVE } from '../../../native-layout/bits.js';
import { FRAME_STRIDE, FR_CONTENT_GEN, FR_FLAGS } from '../../../native-layout/fields.js';
import { PAGEBLOCK_NR_PAGES } from '../../../native-layout/shape.js';
import { V_ASI_MAPPING, V_DATA_LEAK, V_ISOLATION, reportViolation } from '../../check/oracle.js';
import { Tlb } from '../../hw/tlb.js';
import type { KernelCtx } from '../ctx.js';
import { type AsiFlipOps } from '../page_alloc/flip.js';
import { PageAllocator } from '../page_alloc/index.js';
import { pageblockFlags } from '../page_alloc/pageblock.js';
import { flushTlbKernelRange, flushTlbOneKernel } from '../tlb/flush-kernel.js';
import { irqsOff } from '../tlb/flush-func.js';
import { compactForFlip } from './compact.js';
import {
  ASI_PHYSMAP_BASE, ASI_PHYSMAP_SPAN, asiEnabled, asiPhysmapBlockMapped, asiPhysmapMapBlock, asiPhysmapUnmapBlock,
  asiPhysmapVa,
} from './physmap.js';

function blockOf(pfn: number): number {
  return pfn - (pfn % PAGEBLOCK_NR_PAGES);
}

/** The flip operations of CPU k (one object per CPU, built once). */
export class KernelAsiFlipOps implements AsiFlipOps {
  private readonly tlbs: readonly Tlb[];

  constructor(private readonly k: KernelCtx) {
    this.tlbs = Array.from({ length: k.cpus }, (_, c) => new Tlb(k.mem, c));
  }

  irqsOff(_cpu: number): boolean {
    return irqsOff(this.k);
  }

  mapBlocks(_cpu: number, pfn: number, nr: number): void {
    for (let b = 0; b < nr; b++) asiPhysmapMapBlock(this.k, pfn + b * PAGEBLOCK_NR_PAGES);
  }

  unmapBlocks(_cpu: number, pfn: number, nr: number): void {
    for (let b = 0; b < nr; b++) asiPhysmapUnmapBlock(this.k, pfn + b * PAGEBLOCK_NR_PAGES);
  }

  /**
   * flush_tlb_kernel_range() over the blocks' physmap addresses: 512 pages
   * per block, above the single-page ceiling, so every CPU flushes all
   * (globals included), as the kernel does for a range this size.
   */
  flushBlocks(_cpu: number, pfn: number, nr: number): void {
    flushTlbKernelRange(this.k, asiPhysmapVa(pfn), asiPhysmapVa(pfn + nr * PAGEBLOCK_NR_PAGES));
  }

  flushBlocksLocal(_cpu: number, pfn: number, nr: number): void {
    for (let b = 0; b < nr; b++) flushTlbOneKernel(this.k, asiPhysmapVa(pfn + b * PAGEBLOCK_NR_PAGES));
  }

  checkZeroedBeforeMap(_cpu: number, pfn: number, nr: number): void {
    const k = this.k;
    const frame = k.frame;
    const end = pfn + nr * PAGEBLOCK_NR_PAGES;
    for (let p = pfn; p < end; p++) {
      if ((frame[p * FRAME_STRIDE + FR_FLAGS]! & FRAME_F_ZEROED) !== 0) continue;
      const w = k.mmu.walker;
      const gen = frame[p * FRAME_STRIDE + FR_CONTENT_GEN]!;
      reportViolation(k.views, k.cpu, V_DATA_LEAK, asiPhysmapVa(p), p, gen, gen, w.task, w.op);
      return;
    }
  }

  /** fillGen of the record: the CPU that still caches the entry; frameGen: the pageblock's flags. */
  auditNowSensitive(_cpu: number, pfn: number, nr: number): void {
    const k = this.k;
    for (let b = 0; b < nr; b++) {
      const block = pfn + b * PAGEBLOCK_NR_PAGES;
      const va = asiPhysmapVa(block);
      for (let c = 0; c < this.tlbs.length; c++) {
        if (this.tlbs[c]!.findHuge2mAnyPcid(va) < 0) continue;
        const w = k.mmu.walker;
        reportViolation(k.views, k.cpu, V_ISOLATION, va, block, c, pageblockFlags(k.views.pageblock, block), w.task, w.op);
        return;
      }
    }
  }

  checkMapping(_cpu: number, pfn: number, wantNs: number): void {
    const k = this.k;
    const block = blockOf(pfn);
    const ns = (pageblockFlags(k.views.pageblock, block) & PB_NONSENSITIVE) !== 0 ? 1 : 0;
    const mapped = asiPhysmapBlockMapped(k, block) ? 1 : 0;
    if (ns === mapped && (wantNs < 0 || wantNs === ns)) return;
    const w = k.mmu.walker;
    const expected = wantNs >= 0 ? wantNs : ns;
    const found = ns !== mapped ? mapped : ns;
    reportViolation(k.views, k.cpu, V_ASI_MAPPING, asiPhysmapVa(pfn), pfn, expected, found, w.task, w.op);
  }

  compact(_cpu: number, fromNs: number, mt: number): boolean {
    return compactForFlip(this.k, fromNs, mt);
  }
}

/**
 * A physmap hit whose first frame's generation moved (mmu.ts direct-map
 * window): frames of a direct map come and go, so that alone is no fault;
 * but the block must still be nonsensitive, or the CPU reads through an
 * entry that should have been shot down before the block changed side.
 */
function physmapHitCheck(k: KernelCtx, va: number, pfn: number): void {
  if ((pageblockFlags(k.views.pageblock, blockOf(pfn)) & PB_NONSENSITIVE) !== 0) return;
  const w = k.mmu.walker;
  reportViolation(k.views, k.cpu, V_ISOLATION, va, pfn, k.cpu, 0, w.task, w.op);
}

/**
 * Installs the flip on k's allocator handle when the machine has a physmap
 * and the handle serves the nonsensitive lane; tells k's MMU where the
 * physmap is. Returns whether flips are on for this CPU.
 */
export function installAsiFlip(k: KernelCtx): boolean {
  if (!asiEnabled(k.kernel)) return false;
  k.mmu.setDirectMapWindow(ASI_PHYSMAP_BASE, ASI_PHYSMAP_BASE + ASI_PHYSMAP_SPAN, (va, pfn) => physmapHitCheck(k, va, pfn));
  const alloc = k.alloc;
  if (!(alloc instanceof PageAllocator) || !alloc.ctx.asi) return false;
  alloc.ctx.asiOps = new KernelAsiFlipOps(k);
  return true;
}
