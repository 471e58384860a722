// The two non-present PTE states that still stand for a mapped page
// (besides none, all zero):
//
// - a NUMA-hinting (PROT_NONE) entry, made by change_prot_numa (numa.ts):
//   P clear, PTE_PROTNONE set, the pfn and every other right kept, so the
//   fault that follows (do_numa_page) can put it back as it was. As on x86
//   (arch/x86/include/asm/pgtable_types.h _PAGE_PROTNONE), PTE_PROTNONE is
//   the G bit's position: the hardware ignores every bit of a non-present
//   entry, and a user PTE never has G set when present.
// - a migration entry, made by migration (migrate.ts, as try_to_migrate_one
//   installs one in mm/rmap.c): P clear, PTE_MIGRATION (software bit 2)
//   set, the OLD pfn, and the rights it had (RW: whether it was writable,
//   as make_writable_migration_entry encodes it).
//
// Both hold the page's mapping reference (frame refcount), count in
// MM_ANON_PAGES, and keep their PTE table from being freed as empty. A
// kernel walker that treats "not present" as "none" would allocate over
// them (fault), forget the reference (zap) or not copy them (fork): each
// of those paths tests these predicates first.

import { PTE_A, PTE_G, PTE_P, PTE_SW2 } from '../../../native-layout/bits.js';
import { MM_STRIDE, MM_TLB_FLUSH_PENDING } from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import type { KernelCtx } from '../ctx.js';

/** A NUMA-hinting entry (P clear): the G bit's position, as x86's _PAGE_PROTNONE. */
export const PTE_PROTNONE = PTE_G;
/** A migration entry (P clear): software bit 2 (bit 10). */
export const PTE_MIGRATION = PTE_SW2;

const BUG_NUMA_PROTNONE_NOT_ACCESSIBLE = BUG['numa-protnone-not-accessible']!;

/** pte_protnone(): a NUMA-hinting entry. */
export function pteIsProtNone(lo: number): boolean {
  return (lo & (PTE_P | PTE_PROTNONE | PTE_MIGRATION)) === PTE_PROTNONE;
}

/** is_migration_entry(). */
export function pteIsMigration(lo: number): boolean {
  return (lo & (PTE_P | PTE_MIGRATION)) === PTE_MIGRATION;
}

/** The present entry a PROT_NONE entry stood for (A left as it was). */
export function presentFromProtNone(lo: number): number {
  return (lo & ~PTE_PROTNONE) | PTE_P;
}

/** The migration entry for a present or PROT_NONE lo: same pfn and rights, P/PROTNONE/A off. */
export function migrationFromEntry(lo: number): number {
  return (lo & ~(PTE_P | PTE_PROTNONE | PTE_A)) | PTE_MIGRATION;
}

/**
 * pte_accessible() (x86, arch/x86/include/asm/pgtable.h): may a CPU still
 * translate through this entry from its TLB? A present entry, yes. A
 * PROT_NONE entry, yes while its mm has a TLB flush pending: the
 * change_prot_numa that made it has not flushed yet, so CPUs may still
 * hold the entry it replaced (20841405940e; injectable as
 * numa-protnone-not-accessible, which says no, as before that fix).
 */
export function pteAccessible(k: KernelCtx, mm: number, lo: number): boolean {
  if ((lo & PTE_P) !== 0) return true;
  if (!pteIsProtNone(lo)) return false;
  if (injected[BUG_NUMA_PROTNONE_NOT_ACCESSIBLE] !== 0) return false;
  return Atomics.load(k.mm, mm * MM_STRIDE + MM_TLB_FLUSH_PENDING) > 0;
}
