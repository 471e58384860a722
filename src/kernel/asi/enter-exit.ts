// asi_enter() and asi_exit(reason), as arch/x86/mm/asi.c of the ASI branch
// (Brendan Jackman) does them for the userspace class, reduced to what
// decides which translations a CPU can hold and when the mitigations run.
//
// State per CPU (cpu region): curr_asi (the mm whose nonsensitive space CR3
// holds, -1 none), the taints, the mm whose user code last ran, and, for the
// NOFLUSH variant, the tlb_gen each ASID slot's nonsensitive PCID is current
// with.
//
// The order of curr_asi and CR3 is the invariant every interrupt relies on:
// curr_asi != -1 whenever CR3 may hold a nonsensitive PCID. Enter writes
// curr_asi *before* the CR3 write; exit clears it *after*. An interrupt (a
// flush IPI, a fault on sensitive data) can arrive between any two
// statements of asi_exit (it runs with interrupts on) and itself calls
// asi_exit: seeing curr_asi still set, it writes CR3 again (harmless) and
// everything it does next runs in the sensitive space. Clear curr_asi first
// and the interrupt sees -1, concludes it is already in the sensitive space
// and runs with the nonsensitive CR3: its access to sensitive data faults
// and is not recognised as an ASI fault (a kernel oops), and a flush it does
// lands on the nonsensitive PCID instead of the sensitive one it records as
// flushed (injectable as asi-clear-curr-before-cr3; asiCheckCr3 is the
// accessor that catches it).

import { C } from '../../../native-layout/counters.js';
import {
  CPU_ASI_CURR, CPU_ASI_LAST_MM, CPU_ASI_TAINTS, CPU_ASI_TLB_GEN, CPU_CTX_TLB_GEN, CPU_LOADED_MM, CPU_LOADED_MM_ASID,
  MM_ASI_PGD, MM_PGD, MM_STRIDE,
} from '../../../native-layout/fields.js';
import { TLB_NR_DYN_ASIDS } from '../../../native-layout/bits.js';
import { BUG, injected } from '../../check/bugs.js';
import { V_ASI_STATE, reportViolation } from '../../check/oracle.js';
import type { KernelCtx } from '../ctx.js';
import { SITE_ASI_ENTER, SITE_ASI_EXIT, kernelPoint } from '../points.js';
import { localIrqRestore, localIrqSave } from '../smp.js';
import { kernPcid } from '../tlb/asid.js';
import { asiPcid, isAsiPcid } from './pcid.js';
import {
  TAINTS_CONTROL, TAINTS_DATA, TAINT_KERNEL_DATA, USERSPACE_PREVENT_CONTROL, USERSPACE_PROTECT_DATA, USERSPACE_SET,
  foldUserTaintsToOtherMm,
} from './taints.js';
import { EV_ASI_ENTER, EV_ASI_EXIT } from '../../trace/events.js';

/** asi_exit reasons (include/linux/asi_exit.h of the 2026 branch). */
export const ASI_EXIT_PAGE_FAULT = 0;
export const ASI_EXIT_USER_RET = 1;
export const ASI_EXIT_CONTEXT_SWITCH = 2;
export const ASI_EXIT_TLB_FLUSH = 3;
export const ASI_EXIT_MISC = 4;
export const ASI_EXIT_REASON_NAMES: readonly string[] = ['PAGE_FAULT', 'USER_RET', 'CONTEXT_SWITCH', 'TLB_FLUSH', 'MISC'];

/** Counter index per reason. */
const REASON_COUNTER: readonly number[] = [
  C.asiExitsPageFault, C.asiExitsUserRet, C.asiExitsContextSwitch, C.asiExitsTlbFlush, C.asiExitsMisc,
];

const BUG_ASI_CLEAR_CURR_BEFORE_CR3 = BUG['asi-clear-curr-before-cr3']!;

/** curr_asi: the mm whose nonsensitive space this CPU is in, or -1. */
export function asiCurr(k: KernelCtx): number {
  return k.cpuState[k.cpuAt + CPU_ASI_CURR];
}

function mitigate(k: KernelCtx): void {
  k.counters[k.countersAt + C.asiMitigations] += 1;
}

/**
 * __asi_enter() for the userspace class on the way back to user mode of a
 * task of `mm` (its loaded, non-lazy mm). Interrupts are off for the whole
 * transition (the return-to-user path). With a foreign nonsensitive space
 * still loaded it first leaves it (USER_RET). No-op when already in mm's
 * space or when mm has none.
 *
 * Order: control mitigation (IBPB) if other domains trained the predictors,
 * curr_asi, CR3, data mitigation if kernel or other-mm data may linger, then
 * the taints of the user code about to run.
 */
export function asiEnter(k: KernelCtx, mm: number): void {
  const st = k.cpuState;
  const at = k.cpuAt;
  const cur = st[at + CPU_ASI_CURR];
  if (cur === mm) return;
  if (cur >= 0) asiExit(k, ASI_EXIT_USER_RET);
  const asiPgd = k.mm[mm * MM_STRIDE + MM_ASI_PGD];
  if (asiPgd < 0 || st[at + CPU_LOADED_MM] !== mm) return;
  const flags = localIrqSave(k.smp);
  let t = st[at + CPU_ASI_TAINTS];
  if (st[at + CPU_ASI_LAST_MM] !== mm) t = foldUserTaintsToOtherMm(t);
  if ((t & USERSPACE_PREVENT_CONTROL) !== 0) {
    mitigate(k);
    t &= ~TAINTS_CONTROL;
  }
  st[at + CPU_ASI_CURR] = mm;
  kernelPoint(SITE_ASI_ENTER);
  const asid = st[at + CPU_LOADED_MM_ASID];
  k.smp.trace.emit(EV_ASI_ENTER, mm, asid, 0);
  k.asi.loadAsiCr3(k, asiPgd, asid);
  if ((t & USERSPACE_PROTECT_DATA) !== 0) {
    mitigate(k);
    t &= ~TAINTS_DATA;
  }
  st[at + CPU_ASI_TAINTS] = t | USERSPACE_SET;
  st[at + CPU_ASI_LAST_MM] = mm;
  k.counters[k.countersAt + C.asiEnters] += 1;
  localIrqRestore(k.smp, flags);
}

/**
 * CR3 for the nonsensitive space, posted form: never NOFLUSH, so every
 * enter drops what the nonsensitive PCID cached (no generation to track).
 */
export function loadAsiCr3Flush(k: KernelCtx, asiPgd: number, asid: number): void {
  k.mmu.writeCr3(asiPgd, asiPcid(asid), false);
}

/**
 * CR3 for the nonsensitive space with NOFLUSH when the nonsensitive PCID is
 * as current as the slot's sensitive one ("tracked like another address
 * space"): the slot's ctx tlb_gen says which of the mm's changes the
 * sensitive PCID has flushed, asiTlbGen how far the nonsensitive one was
 * current when last entered. Anything flushed since (by an IPI while we
 * were out, or a flush that made us leave) leaves them unequal, and the
 * CR3 write then flushes. -1 (slot handed to another mm, kernel flush)
 * never equals a generation.
 */
export function loadAsiCr3Tracked(k: KernelCtx, asiPgd: number, asid: number): void {
  const st = k.cpuState;
  const at = k.cpuAt;
  const gen = st[at + CPU_CTX_TLB_GEN + asid];
  const current = st[at + CPU_ASI_TLB_GEN + asid] === gen;
  k.mmu.writeCr3(asiPgd, asiPcid(asid), current);
  st[at + CPU_ASI_TLB_GEN + asid] = gen;
}

/**
 * asi_exit(reason): back to the sensitive (full) space of the loaded mm.
 * Interrupts stay as they are: an interrupt may land anywhere in here and
 * call asi_exit itself (see the header for why curr_asi is cleared last).
 * Returns whether this CPU was in a nonsensitive space.
 */
export function asiExit(k: KernelCtx, reason: number): boolean {
  const st = k.cpuState;
  const at = k.cpuAt;
  if (st[at + CPU_ASI_CURR] < 0) return false;
  k.smp.trace.emit(EV_ASI_EXIT, reason, st[at + CPU_ASI_CURR], 0);
  let t = st[at + CPU_ASI_TAINTS];
  if ((t & TAINTS_CONTROL) !== 0) {
    // Predictors trained by user code must not steer kernel code that can
    // now reach every secret.
    mitigate(k);
    t &= ~TAINTS_CONTROL;
  }
  st[at + CPU_ASI_TAINTS] = t | TAINT_KERNEL_DATA;
  const bug = injected[BUG_ASI_CLEAR_CURR_BEFORE_CR3] !== 0;
  if (bug) st[at + CPU_ASI_CURR] = -1;
  const mm = st[at + CPU_LOADED_MM];
  const asid = st[at + CPU_LOADED_MM_ASID];
  if (bug) kernelPoint(SITE_ASI_EXIT);
  k.asi.loadSensitiveCr3(k, k.mm[mm * MM_STRIDE + MM_PGD], asid);
  kernelPoint(SITE_ASI_EXIT);
  st[at + CPU_ASI_CURR] = -1;
  const c = k.counters;
  c[k.countersAt + C.asiExits] += 1;
  c[k.countersAt + REASON_COUNTER[reason]!] += 1;
  return true;
}

/** The sensitive CR3, posted form: no NOFLUSH (the kernel PCID's entries go too). */
export function loadSensitiveCr3Flush(k: KernelCtx, pgd: number, asid: number): void {
  k.mmu.writeCr3(pgd, kernPcid(asid), false);
}

/**
 * The sensitive CR3 with NOFLUSH: the kernel PCID is tracked by the slot's
 * ctx tlb_gen already (switch_mm and flush_tlb_func keep it), so it keeps
 * its entries.
 */
export function loadSensitiveCr3Noflush(k: KernelCtx, pgd: number, asid: number): void {
  k.mmu.writeCr3(pgd, kernPcid(asid), true);
}

/**
 * Forget every nonsensitive PCID's generation on this CPU: a kernel-range
 * flush reached only the PCID that was current (kernel mappings are not
 * global under ASI), so each nonsensitive PCID must be flushed at its next
 * enter (the NOFLUSH variant's invalidate_other).
 */
export function asiInvalidateAllGens(k: KernelCtx): void {
  const st = k.cpuState;
  const at = k.cpuAt + CPU_ASI_TLB_GEN;
  for (let a = 0; a < TLB_NR_DYN_ASIDS; a++) st[at + a] = -1;
}

/**
 * The CR3 accessor's consistency check (native_read_cr3 under ASI): code
 * that reads CR3 must find curr_asi set whenever CR3 holds a nonsensitive
 * PCID. Reports an asi-state violation otherwise; returns whether it held.
 */
export function asiCheckCr3(k: KernelCtx): boolean {
  const pcid = k.mmu.cr3Pcid;
  if (!isAsiPcid(pcid) || k.cpuState[k.cpuAt + CPU_ASI_CURR] >= 0) return true;
  const w = k.mmu.walker;
  reportViolation(k.views, k.cpu, V_ASI_STATE, pcid, k.mmu.cr3Root, -1, -1, w.task, w.op);
  return false;
}
