// The extension points: the five kernel decisions a design may replace,
// each a small typed interface named for the kernel function it stands in
// for. The built-in variants are written against these same interfaces
// (builtins.ts); a user's module (`--design ./my-design.mjs`) gives the
// ones it changes and inherits the rest from its base variant.
//
// Every policy is resolved once per CPU, when the CPU's kernel context
// follows its design (applyDesign in apply.ts): the kernel calls a method
// of a field of KernelCtx, never a lookup, never a closure built per call,
// and never on the TLB-hit path (none of these runs per user access).
//
//   FlushPolicy         flush_tlb_mm_range()   arch/x86/mm/tlb.c     src/kernel/tlb/flush-mm.ts
//   LazyTlbPolicy       enter_lazy_tlb()       arch/x86/mm/tlb.c     src/kernel/tlb/switch-mm.ts
//   AsiPolicy           asi_enter()/asi_exit() and the CR3 writes of the ASI branch
//                                              arch/x86/mm/asi.c     src/kernel/asi/enter-exit.ts, ops.ts
//   EphemeralMapPolicy  the page copies of read() and copy-on-write, and the
//                       mitigation flush when a process loses a page
//                                              mm/ephmap.c, mm/mermap.c  src/kernel/ephmap/, src/kernel/mermap/
//   FlipPolicy          __rmqueue_asi()/__rmqueue_direct_map()
//                                              mm/page_alloc.c (ASI) src/kernel/page_alloc/flip.ts

import type { KernelCtx } from '../ctx.js';
import type { AsiOps } from '../asi/ops.js';
import type { CopyFromPageCache } from '../mm/copy-page-cache.js';
import type { CopyUserPage } from '../mm/copy-user-page.js';
import type { AllocCtx } from '../page_alloc/ctx.js';

/**
 * What flush_tlb_mm_range() does with a range of user pages
 * (src/kernel/tlb/flush-mm.ts): when a range becomes a full flush, and
 * whether the other CPUs are reached by IPIs (flush_tlb_func on each,
 * filtered by should_flush_tlb) or by broadcast INVLPGB + TLBSYNC. The
 * generation bump, the cpumask read after it and the lazy rules stay the
 * kernel's: those orderings are what the oracle checks a policy against.
 */
export interface FlushPolicy {
  readonly name: string;
  /** Pages above which a range flush becomes a full flush (tlb_single_page_flush_ceiling; Linux: 33). */
  readonly ceilingPages: number;
  /**
   * Whether this flush of a user range goes by INVLPGB + TLBSYNC instead of
   * IPIs. mask/maskAt: the mm's cpumask words (bit c: CPU c may cache mm),
   * already known to hold some CPU other than this one. Called once per
   * flush, with preemption off; must not allocate or wait.
   */
  useBroadcast(k: KernelCtx, mask: Int32Array, maskAt: number): boolean;
  /** flush_tlb_kernel_range() by INVLPGB (every PCID) instead of an IPI to every CPU. */
  readonly broadcastKernel: boolean;
}

/**
 * enter_lazy_tlb() (src/kernel/tlb/switch-mm.ts): what a CPU does with the
 * loaded mm when it switches to a kernel thread or idle. Linux keeps CR3
 * and sets is_lazy, so flushes may skip it until it comes back (and catches
 * up by generation) except when page tables are freed.
 */
export interface LazyTlbPolicy {
  readonly name: string;
  /** Runs in context_switch() with interrupts off, before the kernel thread runs. */
  enterLazyTlb(k: KernelCtx): void;
}

/**
 * The ASI policy: every place the kernel meets ASI (src/kernel/asi/ops.ts
 * AsiOps: mm creation, return to user = asi_enter, context switch, the
 * exits before CR3 writes and flushes, and the CR3 writes of asi_enter and
 * asi_exit with or without NOFLUSH). Which reasons exit and what each
 * transition costs is the policy; the building blocks (asiExit, asiEnter,
 * loadAsiCr3Flush ...) are exported for a design to call.
 */
export interface AsiPolicy extends AsiOps {
  readonly name: string;
}

/**
 * The ephemeral-map allocator: how read() copies a page-cache page
 * (src/kernel/mm/read.ts) and how copy-on-write copies a page
 * (src/kernel/mm/fault.ts), that is: which slots, when a slot is reused
 * (wrap) and what is flushed then; plus the mitigation flush when a
 * process loses logical access to a frame it may have mapped ephemerally
 * (eviction, truncation, last close: src/kernel/ephmap/lose-access.ts).
 */
export interface EphemeralMapPolicy {
  readonly name: string;
  /** Copies the page-cache page pfn out and returns its content word (the caller holds a reference). */
  readonly copyFromPageCache: CopyFromPageCache;
  /** Copies frame src to frame dst for a copy-on-write fault of the current process. */
  readonly copyUserPage: CopyUserPage;
  /**
   * mm is about to lose access to a frame (evict, truncate, last close):
   * flush whatever stale ephemeral translations of mm any CPU may hold.
   * Returns whether it flushed. Interrupts on, no spinlock held.
   */
  loseAccess(k: KernelCtx, mm: number): boolean;
}

/** __rmqueue_asi(): a 2^order block of freetype ft made from pageblocks of the other sensitivity, or -1. */
export type RmqueueFlip = (ctx: AllocCtx, cpu: number, order: number, ft: number, allocFlags: number) => number;

/**
 * The sensitivity flip (src/kernel/page_alloc/flip.ts): what the allocator
 * does when no list of the requested sensitivity can serve a request.
 * Linux (the ASI series) takes whole free pageblocks of the other
 * sensitivity, zeroes before mapping and flushes before the freetype bit.
 */
export interface FlipPolicy {
  readonly name: string;
  readonly rmqueueFlip: RmqueueFlip;
}

/**
 * A design: a name, the built-in variant it starts from, and the policies
 * it replaces. What a `--design` module exports (default export, or
 * `export const design`). The base decides the machine at boot (ASI on or
 * off, whether mms get the mm-local region the ephemeral maps live in) and
 * every policy the design leaves out.
 */
export interface Design {
  /** Shown in every report; 1-40 letters, digits, dashes, dots; not a built-in variant's spelling. */
  readonly name: string;
  readonly description?: string;
  /** A built-in variant (`--variant` grammar, e.g. 'asi-on+ephmap'); default 'asi-off'. */
  readonly base?: string;
  readonly flush?: FlushPolicy;
  readonly lazyTlb?: LazyTlbPolicy;
  readonly asi?: AsiPolicy;
  readonly ephemeralMap?: EphemeralMapPolicy;
  readonly flip?: FlipPolicy;
}

/** A design with every policy filled in (from the design, else from its base variant's built-in design). */
export interface ResolvedDesign {
  readonly name: string;
  readonly description: string;
  /** The base variant's canonical spelling. */
  readonly base: string;
  /** Where a user design came from (its file: URL), or null for a built-in. */
  readonly source: string | null;
  readonly flush: FlushPolicy;
  readonly lazyTlb: LazyTlbPolicy;
  readonly asi: AsiPolicy;
  readonly ephemeralMap: EphemeralMapPolicy;
  readonly flip: FlipPolicy;
}

/** The policy keys of a Design, in documentation order. */
export const POLICY_KEYS = ['flush', 'lazyTlb', 'asi', 'ephemeralMap', 'flip'] as const;
