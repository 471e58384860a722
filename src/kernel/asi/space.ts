// The nonsensitive address space of an mm (struct asi of the userspace
// class; arch/x86/mm/asi.c asi_init / asi_clone_user_pgtbl in the ASI
// branch): its own PGD page whose
// - user half points at the mm's own lower-level tables (shared: a PTE the
//   mm writes is at once visible in both spaces);
// - kernel half is init_mm's kernel half minus the direct map's PGD entry:
//   so it holds the nonsensitive physmap (physmap.ts installs its PGD entry
//   in init_mm at boot, asiPhysmapCloneInto), the fixmap, and any
//   kernel-half entry the mm has of its own (a per-mm region: the
//   ephmap/mermap), copied from the mm's PGD.
//
// Keeping the PGD entries in step. Only PGD entries are copies; everything
// below is shared. The mm's PGD entries change in exactly two places of
// src/kernel/mm/pgtable.ts: entryFor() installing a new PUD table, and
// prune() unhooking an empty one. Both call asiMirrorPgdEntry() (mirror.ts) right after
// their own write, which copies the entry into the nonsensitive PGD that
// pgdShadow names for that PGD's store slot. Why a write-through mirror and
// not a copy at asi_enter: a copy taken at enter can be stale by the time
// the flush that follows an unhook reaches the CPU (the enter ran with
// interrupts off between the unhook and the IPI), and a stale PGD entry in
// the nonsensitive PGD leads walkers into a freed PUD table. With the mirror
// the unhook reaches both PGDs before the flush is sent, exactly as the
// mm's own PGD.

import { INIT_MM, PTE_P, PT_ENTRIES } from '../../../native-layout/bits.js';
import { MM_ASI_PGD, MM_PGD, MM_STRIDE, PGD_SHADOW_ASI_PGD, PGD_SHADOW_STRIDE } from '../../../native-layout/fields.js';
import { clearEntry, entryWord, ptSlotOf, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import type { KernelCtx } from '../ctx.js';
import { ENOMEM, freePgtablePage, pgdAlloc } from '../mm/pgtable.js';
import { DIRECT_MAP_PGD_INDEX } from './layout.js';

/**
 * Builds mm's nonsensitive PGD (asi_init). Called by mm_alloc once the mm's
 * PGD holds init_mm's kernel half. Returns 0 or ENOMEM (the mm keeps no ASI
 * space then: the caller undoes the mm).
 */
export function asiInitMm(k: KernelCtx, mm: number): number {
  const env = k.env;
  const at = mm * MM_STRIDE;
  const pgd = k.mm[at + MM_PGD];
  const asiPgd = pgdAlloc(env, k.cpu);
  if (asiPgd < 0) {
    k.mm[at + MM_ASI_PGD] = -1;
    return ENOMEM;
  }
  const pt = env.pt;
  const src = ptSlotOf(env.frame, pgd);
  const dst = ptSlotOf(env.frame, asiPgd);
  for (let i = 0; i < PT_ENTRIES; i++) {
    if (i === DIRECT_MAP_PGD_INDEX) continue;
    const w = entryWord(src, i);
    const lo = readLo(pt, w);
    if ((lo & PTE_P) !== 0) setEntry(pt, env.seq, entryWord(dst, i), lo, readHi(pt, w));
  }
  k.mm[at + MM_ASI_PGD] = asiPgd;
  // Published last: from here every PGD-entry change of the mm is mirrored.
  Atomics.store(k.views.pgdShadow, src * PGD_SHADOW_STRIDE + PGD_SHADOW_ASI_PGD, asiPgd + 1);
  return 0;
}

/**
 * Frees mm's nonsensitive PGD (asi_destroy) at the last mmdrop. Every user
 * table went in exit_mmap (the mirror cleared their entries), and no CPU
 * has it in CR3: a CPU in the nonsensitive space of mm holds mm_count
 * through its active_mm and leaves the space before dropping it.
 */
export function asiDestroyMm(k: KernelCtx, mm: number): void {
  const at = mm * MM_STRIDE;
  const asiPgd = k.mm[at + MM_ASI_PGD];
  if (asiPgd < 0 || mm === INIT_MM) return;
  const env = k.env;
  const pgd = k.mm[at + MM_PGD];
  Atomics.store(k.views.pgdShadow, ptSlotOf(env.frame, pgd) * PGD_SHADOW_STRIDE + PGD_SHADOW_ASI_PGD, 0);
  // Only the PGD page goes: its entries point at tables it never owned
  // (init_mm's kernel half, the physmap's), so clear them first.
  const slot = ptSlotOf(env.frame, asiPgd);
  for (let i = 0; i < PT_ENTRIES; i++) {
    const w = entryWord(slot, i);
    if (env.pt[w] !== 0 || env.pt[w + 1] !== 0) clearEntry(env.pt, env.seq, w);
  }
  k.mm[at + MM_ASI_PGD] = -1;
  freePgtablePage(env, k.cpu, asiPgd);
}
