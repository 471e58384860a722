// PTI's user PCID, as arch/x86/mm/tlb.c invalidate_user_asid(),
// native_flush_tlb_one_user(), native_flush_tlb_local(), user_pcid(), and
// the entry code's SWITCH_TO_USER_CR3 (arch/x86/entry/calling.h).
//
// Under PTI every mm runs under two PCIDs per ASID: the kernel one (kPCID)
// while in the kernel, and kPCID | bit 11 while in user mode. The kernel
// flushes from kernel mode, where INVLPG and a CR3 rewrite reach only the
// kernel PCID: user-mode entries of the same pages survive them. So every
// flush of user addresses also marks the user PCID (a per-CPU bitmask with
// one bit per kPCID), and the next return to user mode with that PCID
// loads CR3 without NOFLUSH, dropping everything the user PCID cached.
// Forget the mark and a page munmapped and freed on CPU 0 after its flush
// IPI to CPU 1 is still reachable by CPU 1's user mode: the IPI's INVLPG
// dropped the kernel-PCID entry, the user-PCID entry stays, and the
// thread's next load through it reads the freed page (injectable as
// pti-no-user-pcid-flush; the kernel's user/kernel PCID split had exactly
// this hole until 6fd166aae78c added the mask).
//
// The broadcast path needs no mask: INVLPGB names the user PCID directly
// (invlpgb.ts broadcastTlbFlush). A global ASID's kPCID is past the
// dynamic ones, so the mask has a bit for every kPCID up to
// MAX_ASID_AVAILABLE (Linux's one-word mask could not hold them, and
// 94a17f2dc90b turned INVLPGB off under PTI instead).

import { PTI_USER_PCID_BIT as PTI_USER_PCID_BIT_, USER_PCID_FLUSH_WORDS as USER_PCID_FLUSH_WORDS_ } from '../../../native-layout/bits.js';
import { C as C_ } from '../../../native-layout/counters.js';
import { CPU_LOADED_MM_ASID as CPU_LOADED_MM_ASID_, CPU_USER_PCID_FLUSH_MASK as CPU_USER_PCID_FLUSH_MASK_ } from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import type { KernelCtx } from '../ctx.js';
import { kernPcid } from './asid.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const PTI_USER_PCID_BIT = PTI_USER_PCID_BIT_, USER_PCID_FLUSH_WORDS = USER_PCID_FLUSH_WORDS_, C = C_, CPU_LOADED_MM_ASID = CPU_LOADED_MM_ASID_,
  CPU_USER_PCID_FLUSH_MASK = CPU_USER_PCID_FLUSH_MASK_;

const BUG_PTI_NO_USER_PCID_FLUSH = BUG['pti-no-user-pcid-flush']!;
const C_USER_PCID_FLUSHES = C.userPcidFlushes;

/** user_pcid(): the PCID ASID asid's user-mode translations are tagged with under PTI. */
export function userPcid(asid: number): number {
  return kernPcid(asid) | PTI_USER_PCID_BIT;
}

/** Turns PTI's user PCID on or off for this CPU (at bring-up: --option pti=1 without ASI). */
export function setPtiUser(k: KernelCtx, on: boolean): void {
  k.ptiUser = on;
  k.mmu.setPtiUser(on);
  for (let w = 0; w < USER_PCID_FLUSH_WORDS; w++) k.cpuState[k.cpuAt + CPU_USER_PCID_FLUSH_MASK + w] = 0;
}

/**
 * invalidate_user_asid(): the user PCID of asid is flushed at the next
 * return to user mode with it (SWITCH_TO_USER_CR3). Owner CPU only, with
 * interrupts off or in its own flush path.
 */
export function invalidateUserAsid(k: KernelCtx, asid: number): void {
  if (!k.ptiUser || injected[BUG_PTI_NO_USER_PCID_FLUSH] !== 0) return;
  const p = kernPcid(asid);
  k.cpuState[k.cpuAt + CPU_USER_PCID_FLUSH_MASK + (p >>> 5)] |= 1 << (p & 31);
}

/**
 * SWITCH_TO_USER_CR3, before a user-mode access: if the current PCID's
 * user half was marked, clear the mark and load CR3 without NOFLUSH (the
 * user PCID's entries go); otherwise NOFLUSH, nothing to do. One load and
 * a test when nothing is marked.
 */
export function switchToUserCr3(k: KernelCtx): void {
  const p = k.mmu.cr3Pcid;
  const w = k.cpuAt + CPU_USER_PCID_FLUSH_MASK + (p >>> 5);
  const bit = 1 << (p & 31);
  const st = k.cpuState;
  if ((st[w]! & bit) === 0) return;
  st[w] = st[w]! & ~bit;
  k.mmu.flushUserPcid();
  k.counters[k.countersAt + C_USER_PCID_FLUSHES] += 1;
}

/**
 * flush_tlb_one_user(): one user page, from kernel mode. INVLPG reaches the
 * kernel PCID; the user PCID is marked (the kernel's fallback without
 * INVPCID: invalidate_user_asid of the loaded ASID).
 */
export function flushTlbOneUser(k: KernelCtx, va: number): void {
  k.mmu.invlpg(va);
  if (k.ptiUser) invalidateUserAsid(k, k.cpuState[k.cpuAt + CPU_LOADED_MM_ASID]!);
}

/** flush_tlb_local(): the current PCID by a CR3 rewrite, and its user PCID at the next return to user. */
export function flushTlbLocal(k: KernelCtx): void {
  if (k.ptiUser) invalidateUserAsid(k, k.cpuState[k.cpuAt + CPU_LOADED_MM_ASID]!);
  const mmu = k.mmu;
  mmu.writeCr3(mmu.cr3Root, mmu.cr3Pcid, false);
}
