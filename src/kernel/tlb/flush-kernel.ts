// Kernel-address flushes, as arch/x86/mm/tlb.c flush_tlb_kernel_range(),
// do_kernel_range_flush(), flush_tlb_all() and do_flush_tlb_all(). Kernel
// mappings are in every address space and may be global, so there is no
// generation and no mm_cpumask: every online CPU is interrupted, idle and
// lazy ones included, and each uses INVLPG (which drops global entries too)
// or a flush of everything (under --variant invlpgb: one broadcast
// invalidation of every PCID, globals included, and TLBSYNC; no IPI).
// flush_tlb_one_kernel() is the local INVLPG of one
// kernel page that all of them (and fixmap users) come down to.

import { C as C_ } from '../../../native-layout/counters.js';
import { CPU_INVALIDATE_OTHER as CPU_INVALIDATE_OTHER_ } from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import type { KernelCtx } from '../ctx.js';
import { kernelOf } from '../ctx.js';
import { type SmpCtx, onEachCpu } from '../smp.js';
import { FlushError, TLB_SINGLE_PAGE_FLUSH_CEILING } from './flush-mm.js';
import { irqsOff } from './flush-func.js';
import { IPI_FLUSH_KERNEL_RANGE, IPI_FLUSH_TLB_ALL } from './ipi-ids.js';
import { INVLPGB_ALL, INVLPGB_INCLUDE_GLOBAL } from '../../hw/invlpgb.js';
import { invlpgbFlushAnyPcid } from './invlpgb.js';
import { flushTlbOneUser } from './user-pcid.js';
import { SITE_KERNEL_FLUSH, kernelPoint } from '../points.js';
import { EV_FLUSH_KERNEL } from '../../trace/events.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const C = C_, CPU_INVALIDATE_OTHER = CPU_INVALIDATE_OTHER_;

const PAGE = 4096;
const SPLIT = 2 ** 32;
const BUG_DROP_INVALIDATE_OTHER = BUG['drop-invalidate-other']!;

/**
 * flush_tlb_one_kernel(): drop this CPU's translation of one kernel page.
 *
 * Without PTI kernel PTEs are global and INVLPG drops the global entry
 * whatever PCID cached it: done. With PTI they are not global: each PCID
 * this CPU ran with may hold its own copy, and INVLPG reaches only the
 * current one. The others are then marked for a flush at their next use
 * (invalidate_other, consumed by choose_new_asid). Forget it and a fixmap
 * slot remapped on CPU 1 under mm B's PCID still translates to the old,
 * freed frame under mm A's: CPU 1 switches back to A (its slot is current,
 * so CR3 is loaded with NOFLUSH) and reads the freed frame through the slot
 * (injectable as drop-invalidate-other).
 */
export function flushTlbOneKernel(k: KernelCtx, va: number): void {
  // flush_tlb_one_user(): with PTI's user PCID, that one is marked as well
  // (the entry code's kernel mappings live in the user tables too).
  flushTlbOneUser(k, va);
  if (!k.pti || injected[BUG_DROP_INVALIDATE_OTHER] !== 0) return;
  k.cpuState[k.cpuAt + CPU_INVALIDATE_OTHER] = 1;
}

function count(k: KernelCtx, initiator: boolean): void {
  k.counters[k.countersAt + (initiator ? C.flushesLocal : C.flushesRemote)] += 1;
}

/** do_kernel_range_flush(): info = (vpn low word, vpn high word, pages or -1 for all, initiator). */
export function doKernelRangeFlush(ctx: SmpCtx, vpnLo: number, vpnHi: number, pages: number, initiator: number): void {
  const k = kernelOf(ctx.cpu);
  k.asi.beforeKernelFlush(k);
  count(k, initiator === k.cpu);
  if (pages < 0) {
    k.mmu.flushTlbAll();
    k.counters[k.countersAt + C.flushesFull] += 1;
    return;
  }
  const vpn = (vpnLo >>> 0) + vpnHi * SPLIT;
  for (let i = 0; i < pages; i++) flushTlbOneKernel(k, (vpn + i) * PAGE);
}

/** flush_tlb_kernel_range(start, end) in bytes (kernel-half addresses allowed). */
export function flushTlbKernelRange(k: KernelCtx, startVa: number, endVa: number): void {
  k.smp.lockdep.checkWaitForAcks(k.cpu);
  if (irqsOff(k)) throw new FlushError(`CPU ${k.cpu}: flush_tlb_kernel_range with interrupts disabled`);
  kernelPoint(SITE_KERNEL_FLUSH);
  const vpn = Math.floor(startVa / PAGE);
  const pages = Math.ceil(endVa / PAGE) - vpn;
  const all = pages > TLB_SINGLE_PAGE_FLUSH_CEILING;
  k.smp.trace.emit(EV_FLUSH_KERNEL, vpn % SPLIT | 0, all ? -1 : pages, 0);
  if (k.invlpgb) {
    // With broadcast invalidation no CPU is interrupted: one INVLPGB of the
    // range (every PCID, globals included: with PTI each PCID has its own
    // copy of a kernel mapping), or of everything, then TLBSYNC.
    const flags = INVLPGB_INCLUDE_GLOBAL | (all ? INVLPGB_ALL : 0);
    invlpgbFlushAnyPcid(k, vpn, all ? 0 : pages, flags);
    count(k, true);
    if (all) k.counters[k.countersAt + C.flushesFull] += 1;
    return;
  }
  onEachCpu(k.smp, IPI_FLUSH_KERNEL_RANGE, vpn % SPLIT | 0, Math.floor(vpn / SPLIT), all ? -1 : pages, k.cpu, true);
}

/** do_flush_tlb_all(): __flush_tlb_all, globals included. */
export function doFlushTlbAll(ctx: SmpCtx, initiator: number): void {
  const k = kernelOf(ctx.cpu);
  k.asi.beforeKernelFlush(k);
  count(k, initiator === k.cpu);
  k.mmu.flushTlbAll();
  k.counters[k.countersAt + C.flushesFull] += 1;
}

/** flush_tlb_all(): every CPU drops everything. Flushing more than needed is always allowed; no generation moves. */
export function flushTlbAll(k: KernelCtx): void {
  k.smp.lockdep.checkWaitForAcks(k.cpu);
  if (irqsOff(k)) throw new FlushError(`CPU ${k.cpu}: flush_tlb_all with interrupts disabled`);
  k.smp.trace.emit(EV_FLUSH_KERNEL, 0, -1, 0);
  onEachCpu(k.smp, IPI_FLUSH_TLB_ALL, k.cpu, 0, 0, 0, true);
}
