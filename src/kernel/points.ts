// The kernel's interleaving points (src/sync/hook.ts kernelPoint): the
// places where a real kernel can be interrupted or stalled between two
// statements whose order a race depends on. Lock acquire and release points
// come from src/sync itself (SITE_LOCK_*); these are the rest. A site is a
// small integer so the free engine's hook can count per site and a
// serialized engine can name where it switched CPUs.

export { SITE_LOCK_ACQUIRED, SITE_LOCK_RELEASE, kernelPoint } from '../sync/hook.js';

/** A PTE (or PMD/PUD leaf) was just written or cleared by a kernel path. */
export const SITE_PTE_WRITE = 3;
/** flush_tlb_mm_range() is entered: the PTE writes it covers are done, the generation not yet bumped. */
export const SITE_FLUSH_ENTER = 4;
/** flush_tlb_mm_range() returns: every CPU it reached has flushed. */
export const SITE_FLUSH_DONE = 5;
/** A kernel-range flush (flush_tlb_kernel_range) is entered. */
export const SITE_KERNEL_FLUSH = 6;
/** A page-table page is about to go back to the allocator. */
export const SITE_PGTABLE_FREE = 7;
/** A page (not a page table) is about to go back to the allocator. */
export const SITE_PAGE_FREE = 8;

// ASI (src/kernel/asi/enter-exit.ts):
/** asi_enter between writing curr_asi and the CR3 write. */
export const SITE_ASI_ENTER = 9;
/** asi_exit between the CR3 write and clearing curr_asi (interrupts on: an IPI may land here). */
export const SITE_ASI_EXIT = 10;

// --- hunt (issue 10): windows the serialized engine must be able to open ---
/** An IPI's csd was unlocked (the sender may go on) and its function has not run yet. */
export const SITE_CSD_UNLOCKED = 11;
/** switch_mm_irqs_off between the CR3 write and loaded_mm = next (loaded_mm reads SWITCHING). */
export const SITE_SWITCH_MM_WINDOW = 12;

/** gup_fast between reading the PMD entry and reading the PTE in the table it names (interrupts off: a delay only). */
export const SITE_GUP_FAST = 13;

/** change_prot_numa has made a PTE table's entries PROT_NONE and dropped its lock; its flush comes at the end of the area. */
export const SITE_NUMA_SCAN = 14;
/** Migration has copied the old page and not yet mapped the new one (the migration entry is in place). */
export const SITE_MIGRATE_COPY = 15;

/** khugepaged's collapse has cleared and flushed the PMD entry, checked the pages, and not yet copied them. */
export const SITE_COLLAPSE_COPY = 16;

/** Site names by number, for reports and the serialized engine's traces. */
export const KERNEL_POINT_NAMES: readonly string[] = [
  '', 'lock-acquired', 'lock-release', 'pte-write', 'flush-enter', 'flush-done', 'kernel-flush', 'pgtable-free',
  'page-free', 'asi-enter', 'asi-exit',
  // hunt (issue 10)
  'csd-unlocked', 'switch-mm-window',
  // reach (issue 11): the lockless walker
  'gup-fast',
  // reach (issue 11): NUMA hinting and migration
  'numa-scan', 'migrate-copy',
  // reach (issue 11): khugepaged's collapse
  'collapse-copy',
];

export const KERNEL_POINT_SITES = KERNEL_POINT_NAMES.length;
