// The ASI seam: every place the kernel meets ASI calls one method of the
// CPU's AsiOps (k.asi), and the variant decides, once, which implementation
// that is (STYLE.md: a variant is a design, not an `if` at each site).
// ASI off: every method does nothing. ASI on: the design the --variant
// parts select (when a context switch exits, which CR3 loads flush).

import { CPU_ASI_CURR, CPU_ASI_TLB_GEN, MM_ASI_PGD, MM_STRIDE } from '../../../native-layout/fields.js';
import { NO_MM } from '../../../native-layout/bits.js';
import type { KernelCtx } from '../ctx.js';
import type { Variant } from '../variant.js';
import {
  ASI_EXIT_CONTEXT_SWITCH, ASI_EXIT_TLB_FLUSH, asiCheckCr3, asiEnter, asiExit, asiInvalidateAllGens, loadAsiCr3Flush,
  loadAsiCr3Tracked, loadSensitiveCr3Flush, loadSensitiveCr3Noflush,
} from './enter-exit.js';
import { asiDestroyMm, asiInitMm } from './space.js';
import { auditAsiEntries } from '../../check/isolation.js';

export interface AsiOps {
  /** Whether this design has nonsensitive address spaces at all. */
  readonly enabled: boolean;
  /** mm_alloc(): build mm's nonsensitive space. 0 or ENOMEM. */
  mmCreated(k: KernelCtx, mm: number): number;
  /** The last mmdrop(): free it. */
  mmDestroyed(k: KernelCtx, mm: number): void;
  /** Return to user mode of a task of mm (op boundary, end of a syscall): asi_enter. */
  returnToUser(k: KernelCtx, mm: number): void;
  /** context_switch() before anything else: the design's switch-time exit. nextMm NO_MM for a kernel thread or idle. */
  contextSwitch(k: KernelCtx, nextMm: number): void;
  /** switch_mm_irqs_off() is about to write CR3: never from the nonsensitive space. */
  beforeSwitchMmCr3(k: KernelCtx): void;
  /** flush_tlb_func() is about to flush the current PCID (native_flush_tlb_local reads CR3: leave first). */
  beforeFlush(k: KernelCtx): void;
  /** A kernel-range flush is about to run on this CPU. */
  beforeKernelFlush(k: KernelCtx): void;
  /** switch_mm_irqs_off() chose slot asid and flushed (or took over) its sensitive PCID. */
  slotFlushed(k: KernelCtx, asid: number): void;
  /** The CR3 write of asi_enter. */
  loadAsiCr3(k: KernelCtx, asiPgd: number, asid: number): void;
  /** The CR3 write of asi_exit. */
  loadSensitiveCr3(k: KernelCtx, pgd: number, asid: number): void;
}

function nop(): void {}

/** No ASI: one indirect call that returns at every seam. */
export const ASI_OFF_OPS: AsiOps = {
  enabled: false,
  mmCreated: (k, mm) => {
    k.mm[mm * MM_STRIDE + MM_ASI_PGD] = -1;
    return 0;
  },
  mmDestroyed: nop,
  returnToUser: nop,
  contextSwitch: nop,
  beforeSwitchMmCr3: nop,
  beforeFlush: nop,
  beforeKernelFlush: nop,
  slotFlushed: nop,
  loadAsiCr3: nop,
  loadSensitiveCr3: nop,
};

/** asi_exit on every context switch (the 2025 posting). */
function exitEverySwitch(k: KernelCtx, _nextMm: number): void {
  asiExit(k, ASI_EXIT_CONTEXT_SWITCH);
}

/**
 * asi_exit only when the mm changes: struct asi lives as long as its mm, so
 * a kernel thread (which borrows the mm lazily) or idle keeps the
 * nonsensitive space, and a thread of the same mm returns to it without a
 * transition.
 */
function exitOnMmChange(k: KernelCtx, nextMm: number): void {
  const cur = k.cpuState[k.cpuAt + CPU_ASI_CURR];
  if (cur >= 0 && nextMm !== NO_MM && nextMm !== cur) asiExit(k, ASI_EXIT_CONTEXT_SWITCH);
}

/** The isolation audit of this CPU's nonsensitive entries when a flush reaches it inside (src/check/isolation.ts). */
function auditIfInside(k: KernelCtx): void {
  if (k.cpuState[k.cpuAt + CPU_ASI_CURR] < 0) return;
  const w = k.mmu.walker;
  auditAsiEntries(k.views, k.cpu, k.mmu.tlb, w.task, w.op);
}

/** The ASI-on seams for a parsed variant. */
export function makeAsiOnOps(v: Variant): AsiOps {
  return {
    enabled: true,
    mmCreated: asiInitMm,
    mmDestroyed: asiDestroyMm,
    returnToUser: asiEnter,
    contextSwitch: v.switchExit === 'mm-change' ? exitOnMmChange : exitEverySwitch,
    beforeSwitchMmCr3: (k) => {
      asiExit(k, ASI_EXIT_CONTEXT_SWITCH);
    },
    beforeFlush: (k) => {
      asiCheckCr3(k);
      auditIfInside(k);
      asiExit(k, ASI_EXIT_TLB_FLUSH);
    },
    beforeKernelFlush: (k) => {
      asiCheckCr3(k);
      auditIfInside(k);
      asiExit(k, ASI_EXIT_TLB_FLUSH);
      asiInvalidateAllGens(k);
    },
    slotFlushed: (k, asid) => {
      k.cpuState[k.cpuAt + CPU_ASI_TLB_GEN + asid] = -1;
    },
    loadAsiCr3: v.noflush ? loadAsiCr3Tracked : loadAsiCr3Flush,
    loadSensitiveCr3: v.noflush ? loadSensitiveCr3Noflush : loadSensitiveCr3Flush,
  };
}
