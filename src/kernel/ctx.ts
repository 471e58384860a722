// One CPU's view of the emulated kernel: the SMP context it sends and takes
// IPIs with, its MMU, the page allocator and page-table environment, the
// kernel-object regions (mm, vma, task, rq) and the per-CPU scratch that
// Linux keeps in per-CPU variables (the mmu_gather, a PteRef). Built once per
// CPU, in the thread that runs that CPU.
//
// IPI functions receive the SmpCtx the target drained its queue with (the
// engine's own, while quiescing), so kernel IPI handlers find their CPU's
// KernelCtx through kernelOf(ctx.cpu): a per-thread table, one entry per CPU
// this thread plays (one in a worker, several in single-thread tests).

import { type CopyUserPage, copyUserPageDirect } from './mm/copy-user-page.js';
import { CPU_STRIDE, COUNTERS_STRIDE } from '../../native-layout/fields.js';
import type { MachineMemory, MachineViews } from '../../native-layout/memory.js';
import { Mmu } from '../hw/mmu.js';
import type { SmpCtx } from './smp.js';
import { type FrameAllocator, type PgtableEnv, PteRef, pgtableEnv } from './mm/pgtable.js';
import { GFP_PGTABLE } from './page_alloc/gfp.js';
import { MmuGather } from './mm/gather-state.js';
import { installInvlpgbTarget } from './tlb/invlpgb.js';
import { ASI_OFF, type Variant } from './variant.js';
import { type CopyFromPageCache, copyFromPageCacheViaPhysmap } from './mm/copy-page-cache.js';
import { ASI_OFF_OPS, type AsiOps } from './asi/ops.js';
import { EPHEMERAL_NONE, FLUSH_IPI, LAZY_TLB_LINUX, builtinDesign } from './design/builtins.js';
import { applyDesign, resolveDesign } from './design/apply.js';
import type { EphemeralMapPolicy, FlushPolicy, LazyTlbPolicy, ResolvedDesign } from './design/types.js';
import { xorshift32 } from '../xorshift.js';

export interface KernelCtx {
  readonly cpu: number;
  readonly cpus: number;
  readonly smp: SmpCtx;
  readonly mem: MachineMemory;
  readonly views: MachineViews;
  readonly mmu: Mmu;
  readonly alloc: FrameAllocator;
  readonly env: PgtableEnv;
  /** Regions, for short names on the paths that use them. */
  readonly cpuState: Int32Array;
  readonly mm: Int32Array;
  readonly vma: Int32Array;
  readonly task: Int32Array;
  readonly rq: Int32Array;
  readonly kernel: Int32Array;
  readonly frame: Int32Array;
  readonly counters: Float64Array;
  readonly cpuAt: number;
  readonly countersAt: number;
  readonly maxMms: number;
  readonly maxTasks: number;
  readonly maxVmas: number;
  /** This CPU's mmu_gather (one per CPU, like the on-stack one; not re-entrant). */
  readonly gather: MmuGather;
  readonly ref: PteRef;
  /** Snapshot scratch: a cpumask copy. */
  readonly maskScratch: Int32Array;
  /**
   * Hardware model: translations the CPU prefetches right after a CR3 load
   * during switch_mm (from the next mm's speculation range). 0 turns it off.
   */
  switchSpecFills: number;
  /** xorshift32 state for the hardware's speculation choices. */
  hwRng: number;
  /** Hardware model: user accesses between two looks at the IPI line (IPI delivery latency). */
  irqPollAccesses: number;
  irqPollCountdown: number;
  /** Flush variant: user-address flushes of mms active on >= 3 CPUs use INVLPGB + TLBSYNC instead of IPIs. */
  invlpgb: boolean;
  /**
   * Whether this CPU's last flush_tlb_mm_range went by INVLPGB (no IPI, so
   * it did not wait for CPUs with interrupts off): page tables freed after
   * it wait for those first (src/kernel/tlb/table-free.ts).
   */
  lastFlushBroadcast: boolean;
  /**
   * Page-table isolation (X86_FEATURE_PTI, as far as the TLB is concerned):
   * kernel mappings are not global but tagged with each PCID, so a local
   * kernel INVLPG reaches only the current PCID (flush_tlb_one_kernel).
   */
  pti: boolean;
  /**
   * PTI's user PCID (--option pti=1 without ASI): user-mode translations
   * are tagged kPCID | bit 11 (user_pcid), and a flush of user addresses
   * must reach that PCID too (src/kernel/tlb/user-pcid.ts).
   */
  ptiUser: boolean;
  /**
   * Global ASIDs (the built-in INVLPGB flush policy without ASI): mms on
   * several CPUs get one PCID on every CPU, and their flushes are INVLPGBs
   * of it (src/kernel/tlb/global-asid.ts).
   */
  globalAsids: boolean;
  /** The design this run emulates (--variant), parsed once; set with applyVariant. */
  variant: Variant;
  /** The ASI seam (src/kernel/asi/ops.ts): no-ops unless the variant has ASI on. */
  asi: AsiOps;
  /** read()'s copy out of the page cache (src/kernel/mm/copy-page-cache.ts): the ephemeral maps' seam. */
  copyFromPageCache: CopyFromPageCache;
  /** Copy-on-write's page copy (src/kernel/mm/copy-user-page.ts): the ephemeral maps' second seam. */
  copyUserPage: CopyUserPage;
  // ---- design (src/kernel/design/): the policies this CPU resolved once from its variant ----
  /** The design this CPU follows (a built-in variant's, or a --design module's). */
  design: ResolvedDesign;
  /** flush_tlb_mm_range's choices (ceiling, IPI or INVLPGB). */
  flush: FlushPolicy;
  /** enter_lazy_tlb. */
  lazyTlb: LazyTlbPolicy;
  /** The ephemeral-map allocator; copyFromPageCache/copyUserPage above are its two copies. */
  ephemeralMap: EphemeralMapPolicy;
}

const kernels: (KernelCtx | undefined)[] = [];

/** The KernelCtx this thread registered for `cpu`. */
export function kernelOf(cpu: number): KernelCtx {
  const k = kernels[cpu];
  if (k === undefined) throw new Error(`CPU ${cpu} has no kernel context in this thread`);
  return k;
}

/** Test hook: forget every CPU's context (single-thread tests build several machines). */
export function resetKernels(): void {
  kernels.length = 0;
}

export function makeKernelCtx(mem: MachineMemory, smp: SmpCtx, alloc: FrameAllocator): KernelCtx {
  const v = mem.views;
  const s = mem.layout.shape;
  const cpu = smp.cpu;
  const k: KernelCtx = {
    cpu,
    cpus: s.cpus,
    smp,
    mem,
    views: v,
    mmu: new Mmu(mem, cpu),
    alloc,
    env: pgtableEnv(mem, alloc, GFP_PGTABLE),
    cpuState: v.cpu,
    mm: v.mm,
    vma: v.vma,
    task: v.task,
    rq: v.rq,
    kernel: v.kernel,
    frame: v.frame,
    counters: v.counters,
    cpuAt: cpu * CPU_STRIDE,
    countersAt: cpu * COUNTERS_STRIDE,
    maxMms: s.maxMms,
    maxTasks: s.maxTasks,
    maxVmas: s.maxVmas,
    gather: new MmuGather(),
    ref: new PteRef(),
    maskScratch: new Int32Array(2),
    switchSpecFills: 0,
    hwRng: (0x9e3779b9 ^ Math.imul(cpu + 1, 0x85ebca6b)) | 1,
    irqPollAccesses: 16,
    irqPollCountdown: 16,
    invlpgb: false,
    lastFlushBroadcast: false,
    pti: false,
    ptiUser: false,
    globalAsids: false,
    variant: ASI_OFF,
    asi: ASI_OFF_OPS,
    copyFromPageCache: copyFromPageCacheViaPhysmap,
    copyUserPage: copyUserPageDirect,
    design: builtinDesign(ASI_OFF),
    flush: FLUSH_IPI,
    lazyTlb: LAZY_TLB_LINUX,
    ephemeralMap: EPHEMERAL_NONE,
  };
  kernels[cpu] = k;
  installInvlpgbTarget(k);
  return k;
}

/**
 * Makes this CPU's kernel follow variant v: the design it names (a
 * built-in composition of policies, or a loaded --design module's, over
 * its base: src/kernel/design/apply.ts), resolved once here.
 */
export function applyVariant(k: KernelCtx, v: Variant): void {
  applyDesign(k, v, resolveDesign(v));
}

/** The hardware's own random stream (speculation targets). */
export function hwRandom(k: KernelCtx): number {
  const s = xorshift32(k.hwRng);
  k.hwRng = s;
  return s >>> 0;
}
