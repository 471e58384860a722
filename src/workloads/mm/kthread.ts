// The per-CPU kernel thread: runs on the borrowed mm in lazy TLB mode (the
// runner's speculation then walks user addresses of that mm), churns a
// kernel page through the allocator so freed frames get reused fast, and
// now and then acts as khugepaged on some process: collapsing the anonymous
// 2 MiB ranges it can (src/kernel/mm/collapse.ts), then retracting its
// empty PTE tables, flushed with flush_tlb_range.

import { MM_LIVE } from '../../../native-layout/bits.js';
import { MM_STATE, MM_STRIDE, VMA_END, VMA_FLAGS, VMA_START } from '../../../native-layout/fields.js';
import { writeFrame } from '../../hw/frames.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { mmput } from '../../kernel/mm/exit.js';
import { mmgetNotZero } from '../../kernel/mm/mm.js';
import { type CollapseTally, khugepagedCollapseMm } from '../../kernel/mm/collapse.js';
import { retractEmptyPageTables } from '../../kernel/mm/retract.js';
import { compactRange } from '../../kernel/mm/compaction.js';
import { vmaAt } from '../../kernel/mm/vma.js';
import { GFP_KERNEL } from '../../kernel/page_alloc/gfp.js';
import { speculate } from '../../kernel/tlb/speculate.js';
import { loadedMm } from '../../kernel/tlb/switch-mm.js';
import type { MmCpu } from './runner.js';

/** Content domain of kernel data. */
const KERNEL_DOMAIN = 0;

/** Speculative walks per kernel-thread op: kernel code touches a lot of memory, and the walker follows. */
const LAZY_SPEC_FILLS = 8;

export function kthreadStep(k: KernelCtx, _tid: number, cpu: MmCpu): void {
  cpu.stats.kthreadSteps++;
  // Lazy: CR3 still holds the borrowed mm, and the hardware may walk its
  // user half at any time (through its paging-structure caches too).
  speculate(k, loadedMm(k), LAZY_SPEC_FILLS);
  const pfn = k.alloc.allocPages(k.cpu, 0, GFP_KERNEL);
  if (pfn >= 0) {
    writeFrame(k.frame, pfn, KERNEL_DOMAIN, 1 + cpu.rng.below(0xfffe));
    k.alloc.freePages(k.cpu, pfn, 0);
    cpu.stats.kernelPages++;
  }
  const p = cpu.opts.khugepagedPercent;
  if (p > 0 && cpu.rng.below(100) < p) khugepagedPass(k, cpu);
  const c = cpu.opts.compactPercent;
  if (c > 0 && cpu.rng.below(100) < c) kcompactdPass(k, cpu);
}

/** Pages per kcompactd pass. */
const COMPACT_PAGES = 16;

/** kcompactd: moves the pages of a random 16-page window of some live process's memory (the first mapped area from a random slot). */
function kcompactdPass(k: KernelCtx, cpu: MmCpu): void {
  const mm = pickLiveMm(k, cpu);
  if (mm < 0) return;
  const first = cpu.rng.below(k.maxVmas);
  for (let i = 0; i < k.maxVmas; i++) {
    // Read without mmap_lock, only to choose: compactRange looks again under it.
    const at = vmaAt(k, mm, (first + i) % k.maxVmas);
    const start = k.vma[at + VMA_START]!;
    const len = k.vma[at + VMA_END]! - start;
    if (k.vma[at + VMA_FLAGS] === 0 || len <= 0) continue;
    cpu.stats.compactMigrated += compactRange(k, mm, start + cpu.rng.below(len), COMPACT_PAGES);
    break;
  }
  mmput(k, mm);
}

/** A live process from a random start, with a reference taken (mmput it), or -1. */
function pickLiveMm(k: KernelCtx, cpu: MmCpu): number {
  const start = 1 + cpu.rng.below(k.maxMms - 1);
  for (let i = 0; i < k.maxMms - 1; i++) {
    const mm = 1 + ((start - 1 + i) % (k.maxMms - 1));
    if (Atomics.load(k.mm, mm * MM_STRIDE + MM_STATE) !== MM_LIVE) continue;
    if (mmgetNotZero(k, mm)) return mm;
  }
  return -1;
}

/** This CPU's khugepaged tally (one CPU per worker thread). */
const tally: CollapseTally = { collapsed: 0, aborted: 0 };

function khugepagedPass(k: KernelCtx, cpu: MmCpu): void {
  const mm = pickLiveMm(k, cpu);
  if (mm < 0) return;
  // collapse first: a collapse that gives up leaves its table for the retraction to judge.
  tally.collapsed = 0;
  tally.aborted = 0;
  khugepagedCollapseMm(k, mm, tally);
  cpu.stats.collapsed += tally.collapsed;
  cpu.stats.collapseAborts += tally.aborted;
  cpu.stats.retracted += retractEmptyPageTables(k, mm);
  mmput(k, mm);
}
