// The kernel's software page-table walkers that check what they step into
// (src/check/sw-walk.ts), named as the kernel functions they emulate. A
// walker is a small integer so the oracle record can hold it; the names are
// what reports print. Append new walkers at the end.

/** zap_pte_range (MADV_DONTNEED, munmap, exit): mmap_lock held. */
export const WALK_ZAP = 1;
/** change_pte_range (mprotect): mmap_lock held for write. */
export const WALK_MPROTECT = 2;
/** page_vma_mapped_walk (reclaim's try_to_unmap_one, truncation): i_mmap + the PTE lock, no mmap_lock. */
export const WALK_RMAP = 3;
/** retract_page_tables (khugepaged): mmap_lock for write, then the PMD and PTE locks. */
export const WALK_RETRACT = 4;
/** free_pgtables (munmap, mremap): mmap_lock held. */
export const WALK_FREE_PGTABLES = 5;

/** gup_fast (get_user_pages_fast): no lock, interrupts off; tables freed only after every walker let go (src/kernel/tlb/table-free.ts). */
export const WALK_GUP_FAST = 6;

/** change_prot_numa's change_pte_range (task_numa_work): mmap_lock for read, the PTE lock. */
export const WALK_NUMA = 7;

/** collapse_huge_page (khugepaged): mmap_lock for write, the PMD lock, then the PTE lock. */
export const WALK_COLLAPSE = 8;

/** kcompactd's migration of a range (compaction.ts; isolate_migratepages_block in Linux): mmap_lock for read. */
export const WALK_COMPACT = 9;

export const WALKER_NAMES: readonly string[] = [
  '', 'zap_pte_range', 'change_pte_range', 'page_vma_mapped_walk', 'retract_page_tables', 'free_pgtables', 'gup_fast',
  'change_prot_numa', 'collapse_huge_page', 'kcompactd',
];
