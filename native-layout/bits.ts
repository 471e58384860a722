// Bit-level formats of words that live in the shared regions: x86-64 PTEs,
// frame flags, pageblock flags and TLB entry metadata. One source of truth,
// emitted into the C header too.

// ---- x86-64 page-table entries -------------------------------------------
// A PTE is 64 bits, stored as two little-endian 32-bit words (lo, hi), so the
// bit positions are exactly the architectural ones:
//   lo: P RW US PWT PCD A D PS G (0..8), software bits 9..11, pfn bits 0..19 at 12..31
//   hi: pfn bits 20..39 at 0..19, software bits 52..58 at 20..26, NX at 31
export const PTE_P = 1 << 0;
export const PTE_RW = 1 << 1;
export const PTE_US = 1 << 2;
export const PTE_PWT = 1 << 3;
export const PTE_PCD = 1 << 4;
export const PTE_A = 1 << 5;
export const PTE_D = 1 << 6;
/** PS in a PDE/PDPTE: this entry maps a 2 MiB / 1 GiB page. */
export const PTE_PS = 1 << 7;
export const PTE_G = 1 << 8;
export const PTE_SW1 = 1 << 9;
export const PTE_SW2 = 1 << 10;
export const PTE_SW3 = 1 << 11;
export const PTE_FLAGS_MASK_LO = 0xfff;
/**
 * Oracle metadata (software bit 1): a permanent kernel mapping (the direct
 * map) that translates every frame whatever its owner; its TLB entries carry
 * TLB_GEN_PERMANENT instead of the frame generation, so the use-after-free
 * checks skip them (the isolation oracle does not).
 */
export const PTE_NOGEN = PTE_SW1;
/** fillGen of a TLB entry filled from a PTE_NOGEN leaf. */
export const TLB_GEN_PERMANENT = -0x80000000;
/** NX lives in the high word (bit 63 of the 64-bit entry). */
export const PTE_HI_NX = 1 << 31;
/** Software bits 52..58 in the high word. */
export const PTE_HI_SW_SHIFT = 20;
export const PTE_HI_SW_MASK = 0x7f << PTE_HI_SW_SHIFT;
export const PTE_HI_PFN_MASK = 0xfffff;

export const PT_ENTRIES = 512;
/** Words per page-table page in the page-table store (512 entries x 2 words). */
export const PT_WORDS = PT_ENTRIES * 2;

/** Paging levels, numbered like the kernel's pgtable levels. */
export const LEVEL_PTE = 1;
export const LEVEL_PMD = 2;
export const LEVEL_PUD = 3;
export const LEVEL_PGD = 4;

// ---- frame flags (frame.flags) --------------------------------------------
// bits 0..3: state; 4..7: buddy order while free (or allocation order);
// bit 8..: flag bits.
export const FRAME_STATE_MASK = 0xf;
export const FS_FREE_HEAD = 0; // head of a free buddy block ("PageBuddy")
export const FS_FREE_TAIL = 1; // inside a free buddy block
export const FS_PCP = 2; // on a per-CPU list
export const FS_ALLOCATED = 3; // handed out (head or tail of an allocation)
export const FS_PAGETABLE = 4; // a page-table page
export const FS_TRANSIT = 5; // taken out by the allocator for a sensitivity flip
export const FS_RESERVED = 6; // never managed (not used yet; room for holes)
export const FRAME_STATE_NAMES = ['free-head', 'free-tail', 'pcp', 'allocated', 'pagetable', 'transit', 'reserved'] as const;

export const FRAME_ORDER_SHIFT = 4;
export const FRAME_ORDER_MASK = 0xf << FRAME_ORDER_SHIFT;
/** Contents were zeroed and not written since. */
export const FRAME_F_ZEROED = 1 << 8;
/** Head page of an allocation (allocation order is in the order field). */
export const FRAME_F_HEAD = 1 << 9;
/** Tail page of an allocation. */
export const FRAME_F_TAIL = 1 << 10;
/**
 * Freetype tag, bits 12..15: the freetype a head frame was put on a per-CPU
 * or buddy free list with, or (on every frame of an allocation) the freetype
 * the allocation was made for. Claims count movable frames by it, drains and
 * the checker compare it with the pageblock.
 */
export const FRAME_PCP_FT_SHIFT = 12;
export const FRAME_PCP_FT_MASK = 0xf << FRAME_PCP_FT_SHIFT;

/** frame.content packs the owner domain (high 16) and the secret tag (low 16). */
export const CONTENT_DOMAIN_SHIFT = 16;
export const CONTENT_SECRET_MASK = 0xffff;

// ---- migratetypes and freetypes -------------------------------------------
export const MIGRATE_UNMOVABLE = 0;
export const MIGRATE_MOVABLE = 1;
export const MIGRATE_RECLAIMABLE = 2;
/** MIGRATE_PCPTYPES: types below this have per-CPU lists and may merge freely. */
export const MIGRATE_PCPTYPES = 3;
export const MIGRATE_HIGHATOMIC = 3;
export const MIGRATE_ISOLATE = 4;
export const MIGRATE_TYPES = 5;
export const MIGRATETYPE_NAMES = ['unmovable', 'movable', 'reclaimable', 'highatomic', 'isolate'] as const;
/** Sensitivity lanes: 0 = sensitive (boot state), 1 = nonsensitive (ASI). */
export const SENSITIVITY_LANES = 2;
/** A freetype is migratetype x sensitivity: index = mt + MIGRATE_TYPES * nonsensitive. */
export const NR_FREETYPES = MIGRATE_TYPES * SENSITIVITY_LANES;

// ---- pageblock flags ------------------------------------------------------
// 8 bits per pageblock, 4 pageblocks per 32-bit word, as NR_PAGEBLOCK_BITS
// rounds up to a byte in include/linux/pageblock-flags.h. Neighbours share a
// word, so every write is a compare-exchange loop.
export const PB_BITS = 8;
export const PB_PER_WORD = 32 / PB_BITS;
export const PB_MIGRATE_MASK = 0x7;
export const PB_SKIP = 1 << 3;
export const PB_ISOLATE = 1 << 4;
/** ASI: the block is nonsensitive (mapped in the restricted physmap). 0 at boot. */
export const PB_NONSENSITIVE = 1 << 5;
/**
 * The block is FREETYPE_UNMAPPED (unmovable only): absent from every direct
 * map, the ordinary one included (issue 7 remainder, page_alloc/unmapped.ts).
 */
export const PB_UNMAPPED = 1 << 6;
/** With PB_UNMAPPED: the flip removed a direct-map leaf, which the free must write back. */
export const PB_UNMAPPED_LEAF = 1 << 7;

// ---- per-CPU page lists ---------------------------------------------------
/** PAGE_ALLOC_COSTLY_ORDER: orders 0..3 are cached per CPU (and the THP order). */
export const PAGE_ALLOC_COSTLY_ORDER = 3;
export const NR_LOWORDER_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1);
/** 12 low-order lists plus two for the THP order (movable, non-movable). */
export const NR_PCP_LISTS = NR_LOWORDER_PCP_LISTS + 2;
/** Doubled by sensitivity for ASI freetypes. */
export const NR_PCP_LISTS_FT = NR_PCP_LISTS * SENSITIVITY_LANES;

// ---- TLB entries ----------------------------------------------------------
// tlb.meta: pcid (0..11), vpn bits 32..35 (12..15), flags from bit 16.
export const TLB_PCID_MASK = 0xfff;
export const TLB_VPNHI_SHIFT = 12;
export const TLB_VPNHI_MASK = 0xf << TLB_VPNHI_SHIFT;
export const TLB_VALID = 1 << 16;
export const TLB_GLOBAL = 1 << 17;
export const TLB_SIZE_SHIFT = 18; // 0 = 4K, 1 = 2M, 2 = 1G
export const TLB_SIZE_MASK = 3 << TLB_SIZE_SHIFT;
export const TLB_RW = 1 << 20;
export const TLB_US = 1 << 21;
export const TLB_NX = 1 << 22;
export const TLB_DIRTY = 1 << 23;
/** Filled speculatively (never touched architecturally yet). */
export const TLB_SPEC = 1 << 24;
export const PAGE_SIZE_4K = 0;
export const PAGE_SIZE_2M = 1;
export const PAGE_SIZE_1G = 2;

// ---- paging-structure cache entries (psc.meta) ----------------------------
export const PSC_PCID_MASK = 0xfff;
export const PSC_VALID = 1 << 16;
// Rights of the upper levels the cached PDE pointer was reached through, ANDed
// (RW, US) or ORed (NX) like a walk does, so a PSC hit checks them too.
export const PSC_RW = 1 << 17;
export const PSC_US = 1 << 18;
export const PSC_NX = 1 << 19;

// ---- kernel objects (mm, vma, task, run queue) ------------------------------
/** mm.state */
export const MM_FREE = 0;
/** In use by tasks (mm_users > 0). */
export const MM_LIVE = 1;
/** exit_mmap done: no mappings, no tables below the PGD; kept while mm_count > 0 (lazy CPUs). */
export const MM_DEAD = 2;
/** Claimed by an allocation that is still filling it in. */
export const MM_NEW = 3;
/** The kernel's own address space, always mm 0 (never freed, no user mappings). */
export const INIT_MM = 0;
/** cpu.loadedMm: nothing loaded yet (boot). */
export const LOADED_MM_NONE = -1;
/** cpu.loadedMm while switch_mm_irqs_off runs (LOADED_MM_SWITCHING). */
export const LOADED_MM_SWITCHING = -2;
/** tlb_state.ctxs: dynamic ASIDs per CPU (TLB_NR_DYN_ASIDS); kPCID = asid + 1. */
export const TLB_NR_DYN_ASIDS = 6;
/**
 * MAX_ASID_AVAILABLE: ASIDs TLB_NR_DYN_ASIDS .. MAX_ASID_AVAILABLE - 1 are
 * global ones (the same PCID on every CPU, src/kernel/tlb/global-asid.ts).
 * Linux has 2046 of them under PTI; 64 here, so that soaks wrap the space
 * and run reset_global_asid_space's flush.
 */
export const MAX_ASID_AVAILABLE = 64;
/** Words of the global ASID bitmaps (kernel.globalAsidUsed / globalAsidFreed). */
export const GLOBAL_ASID_WORDS = MAX_ASID_AVAILABLE >>> 5;
/** user_pcid(): PTI tags user-mode translations with kPCID | this bit (X86_CR3_PTI_PCID_USER_BIT). */
export const PTI_USER_PCID_BIT = 1 << 11;
/** Words of cpu.userPcidFlushMask: one bit per kPCID 0 .. MAX_ASID_AVAILABLE. */
export const USER_PCID_FLUSH_WORDS = (MAX_ASID_AVAILABLE >>> 5) + 1;

/** vma.flags (VM_*): 0 = free slot. */
export const VM_VALID = 1 << 0;
export const VM_READ = 1 << 1;
export const VM_WRITE = 1 << 2;
export const VM_EXEC = 1 << 3;
/** MAP_SHARED (anonymous shared memory, or a shared file mapping). */
export const VM_SHARED = 1 << 4;
/** Backed by a file (vma.file, vma.pgoff); anonymous otherwise. */
export const VM_FILE = 1 << 5;
/**
 * mshare (issue 8): the area's page tables are the mshare host's (src/kernel/mshare):
 * faults resolve in the host mm, and no walker of this mm may change or free them.
 */
export const VM_MSHARE = 1 << 6;
/**
 * A hugetlbfs mapping (src/kernel/mm/hugetlb.ts): 2 MiB leaves in PMD tables
 * that processes mapping the same file range share; only hugetlb's own
 * fault and munmap paths touch its tables.
 */
export const VM_HUGETLB = 1 << 7;

/** task.state */
export const TASK_FREE = 0;
export const TASK_RUNNABLE = 1;
export const TASK_RUNNING = 2;
/** Exited; its slot is released once no CPU runs it any more. */
export const TASK_DEAD = 3;
/** Being set up (fork): not on any run queue yet. */
export const TASK_NEW = 4;
/** task.mm of a kernel thread. */
export const NO_MM = -1;
