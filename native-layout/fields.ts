// Field indices as module constants, derived from regions.ts (never typed in
// by hand): `views.frame[pfn * FRAME_STRIDE + FR_FLAGS]`.

import { fieldIndex as at, recordFormat } from './compute.js';

export const CONTROL_STOP = at('control', 'stop');
export const CONTROL_BARRIER_COUNT = at('control', 'barrierCount');
export const CONTROL_BARRIER_GEN = at('control', 'barrierGen');
export const CONTROL_EPOCH = at('control', 'epoch');
export const CONTROL_CPUS_ONLINE = at('control', 'cpusOnline');
export const CONTROL_CPUS_DONE = at('control', 'cpusDone');
export const CONTROL_SCHED_TOKEN = at('control', 'schedToken');
export const CONTROL_SCHED_RNG = at('control', 'schedRng');
export const CONTROL_SCHED_STEPS = at('control', 'schedSteps');
export const CONTROL_SCHED_GONE = at('control', 'schedGone');
export const CONTROL_SCHED_WAITING = at('control', 'schedWaiting');
export const CONTROL_SCHED_TURN = at('control', 'schedTurn');
export const CONTROL_SCHED_PRIORITY = at('control', 'schedPriority');
export const CONTROL_SCHED_CHANGE_AT = at('control', 'schedChangeAt');

export const FRAME_STRIDE = recordFormat('frame').stride;
export const FR_FLAGS = at('frame', 'flags');
export const FR_NEXT = at('frame', 'next');
export const FR_PREV = at('frame', 'prev');
export const FR_PRIVATE = at('frame', 'private');
export const FR_REFCOUNT = at('frame', 'refcount');
export const FR_CONTENT_GEN = at('frame', 'contentGen');
export const FR_CONTENT = at('frame', 'content');

export const ZONE_LOCK = at('zone', 'lockWord');
export const ZONE_FREE_HEAD = at('zone', 'freeHead');
export const ZONE_FREE_TAIL = at('zone', 'freeTail');
export const ZONE_NR_FREE = at('zone', 'nrFree');
export const ZONE_FREE_PAGES = at('zone', 'freePages');
export const ZONE_MANAGED_PAGES = at('zone', 'managedPages');
export const ZONE_WMARK_MIN = at('zone', 'wmarkMin');
export const ZONE_WMARK_LOW = at('zone', 'wmarkLow');
export const ZONE_WMARK_HIGH = at('zone', 'wmarkHigh');
export const ZONE_NR_RESERVED_HIGHATOMIC = at('zone', 'nrReservedHighatomic');
export const ZONE_PCP_BATCH = at('zone', 'pcpBatch');
export const ZONE_PCP_HIGH = at('zone', 'pcpHigh');

export const PCP_STRIDE = recordFormat('pcp').stride;
export const PCP_LOCK = at('pcp', 'lockWord');
export const PCP_COUNT = at('pcp', 'count');
export const PCP_HIGH = at('pcp', 'high');
export const PCP_BATCH = at('pcp', 'batch');
export const PCP_FREE_COUNT = at('pcp', 'freeCount');
export const PCP_HEAD = at('pcp', 'head');
export const PCP_TAIL = at('pcp', 'tail');

export const CPU_STRIDE = recordFormat('cpu').stride;
export const CPU_CR3_ROOT = at('cpu', 'cr3Root');
export const CPU_CR3_PCID = at('cpu', 'cr3Pcid');
export const CPU_IRQS_DISABLED = at('cpu', 'irqsDisabled');
export const CPU_PREEMPT_COUNT = at('cpu', 'preemptCount');
export const CPU_MIGRATE_DISABLED = at('cpu', 'migrateDisabled');
export const CPU_IN_ZONE_LOCK = at('cpu', 'inZoneLock');
export const CPU_LOADED_MM = at('cpu', 'loadedMm');
export const CPU_LOADED_MM_ASID = at('cpu', 'loadedMmAsid');
export const CPU_NEXT_ASID = at('cpu', 'nextAsid');
export const CPU_IS_LAZY = at('cpu', 'isLazy');
export const CPU_INVALIDATE_OTHER = at('cpu', 'invalidateOther');
export const CPU_CTX_ID = at('cpu', 'ctxId');
export const CPU_CTX_TLB_GEN = at('cpu', 'ctxTlbGen');
export const CPU_CSD_WAIT_SINCE = at('cpu', 'csdWaitSince');
export const CPU_CSD_WAIT_FOR = at('cpu', 'csdWaitFor');
// ASI (src/kernel/asi):
export const CPU_ASI_CURR = at('cpu', 'asiCurr');
export const CPU_ASI_TAINTS = at('cpu', 'asiTaints');
export const CPU_ASI_LAST_MM = at('cpu', 'asiLastMm');
export const CPU_ASI_TLB_GEN = at('cpu', 'asiTlbGen');
export const CPU_GHOST_CTX_ID = at('cpu', 'ghostCtxId');
export const CPU_GHOST_TLB_GEN = at('cpu', 'ghostTlbGen');
export const CPU_USER_PCID_FLUSH_MASK = at('cpu', 'userPcidFlushMask');

/** tlb4k and tlbHuge share one entry format. */
export const TLB_STRIDE = recordFormat('tlb4k').stride;
export const TLB_VPN_LO = at('tlb4k', 'vpnLo');
export const TLB_META = at('tlb4k', 'meta');
export const TLB_PFN = at('tlb4k', 'pfn');
export const TLB_FILL_GEN = at('tlb4k', 'fillGen');

export const PSC_STRIDE = recordFormat('psc').stride;
export const PSC_META = at('psc', 'meta');
export const PSC_VA_TAG = at('psc', 'vaTag');
export const PSC_PT_PFN = at('psc', 'ptPfn');
export const PSC_FILL_GEN = at('psc', 'fillGen');

export const PT_STORE_STRIDE = recordFormat('ptStore').stride;
export const PT_SEQ_STRIDE = recordFormat('ptSeq').stride;
export const PT_SEQ_STARTED = at('ptSeq', 'writesStarted');
export const PT_SEQ_DONE = at('ptSeq', 'writesDone');

export const CSD_STRIDE = recordFormat('csd').stride;
export const CSD_FLAGS = at('csd', 'flags');
export const CSD_FUNC = at('csd', 'func');
export const CSD_INFO = at('csd', 'info');
export const CSD_NEXT = at('csd', 'next');
export const CSD_GHOST_SEQ = at('csd', 'ghostSeq');
export const CSD_GHOST_RAN = at('csd', 'ghostRan');

export const IPI_STRIDE = recordFormat('ipi').stride;
export const IPI_QUEUE_HEAD = at('ipi', 'queueHead');
export const IPI_DOORBELL = at('ipi', 'doorbell');
export const IPI_RECEIVED = at('ipi', 'received');
export const IPI_PARKED = at('ipi', 'parked');
export const IPI_WAIT_ADDR = at('ipi', 'waitAddr');
export const IPI_WAIT_VAL = at('ipi', 'waitVal');

export const COUNTERS_STRIDE = recordFormat('counters').stride;
export const TRACE_HEAD_STRIDE = recordFormat('traceHead').stride;
export const TRACE_STRIDE = recordFormat('trace').stride;
// trace files (issue 10)
export const TR_EVENT = at('trace', 'event');
export const TR_A = at('trace', 'a');
export const TR_B = at('trace', 'b');
export const TR_C = at('trace', 'c');
export const TR_SEQ = at('trace', 'seq');
export const TRACE_SEQ_NEXT = at('traceSeq', 'next');
export const TRACE_SEQ_PER_CPU = at('traceSeq', 'perCpu');

export const ORACLE_VIOLATIONS = at('oracle', 'violations');
export const ORACLE_SLOTS_USED = at('oracle', 'slotsUsed');
export const ORACLE_KIND_COUNT = at('oracle', 'kindCount');
export const OREC_STRIDE = recordFormat('oracleRecord').stride;
export const OREC_READY = at('oracleRecord', 'ready');
export const OREC_KIND = at('oracleRecord', 'kind');
export const OREC_CPU = at('oracleRecord', 'cpu');
export const OREC_TASK = at('oracleRecord', 'task');
export const OREC_VA_LO = at('oracleRecord', 'vaLo');
export const OREC_VA_HI = at('oracleRecord', 'vaHi');
export const OREC_PFN = at('oracleRecord', 'pfn');
export const OREC_FILL_GEN = at('oracleRecord', 'fillGen');
export const OREC_FRAME_GEN = at('oracleRecord', 'frameGen');
export const OREC_OP = at('oracleRecord', 'op');
export const OREC_SLOT_CPU = at('oracleRecord', 'slotCpu');
export const OSNAP_STRIDE = recordFormat('oracleSnap').stride;
export const OREC_SW_WALKER = at('oracleRecord', 'swWalker');
export const OREC_SW_LEVEL = at('oracleRecord', 'swLevel');
export const OREC_SW_FREED_BY = at('oracleRecord', 'swFreedBy');
export const PT_OWNER_MM = at('ptOwner', 'mm');
export const PT_OWNER_FREED_PFN = at('ptOwner', 'freedPfn');
export const PT_OWNER_FREED_BY = at('ptOwner', 'freedBy');
export const PT_OWNER_STRIDE = recordFormat('ptOwner').stride;

export const KERNEL_LAST_CTX_ID = at('kernel', 'lastCtxId');
export const KERNEL_SLOT_LOCK = at('kernel', 'slotLockWord');
export const KERNEL_BOOTED = at('kernel', 'booted');
export const KERNEL_LAST_PID = at('kernel', 'lastPid');
export const KERNEL_ASI_PHYSMAP_PUD = at('kernel', 'asiPhysmapPud');
export const KERNEL_MM_LOCAL_REGION = at('kernel', 'mmLocalRegion');
export const KERNEL_EPHMAP_SLOTS = at('kernel', 'ephmapSlots');
export const KERNEL_GLOBAL_ASID_LOCK = at('kernel', 'globalAsidLockWord');
export const KERNEL_LAST_GLOBAL_ASID = at('kernel', 'lastGlobalAsid');
export const KERNEL_GLOBAL_ASID_AVAILABLE = at('kernel', 'globalAsidAvailable');
export const KERNEL_GLOBAL_ASID_USED = at('kernel', 'globalAsidUsed');
export const KERNEL_GLOBAL_ASID_FREED = at('kernel', 'globalAsidFreed');

export const MM_STRIDE = recordFormat('mm').stride;
export const MM_STATE = at('mm', 'state');
export const MM_CTX_ID = at('mm', 'ctxId');
export const MM_TLB_GEN = at('mm', 'tlbGen');
export const MM_CPUMASK = at('mm', 'cpumask');
export const MM_PGD = at('mm', 'pgd');
export const MM_USERS = at('mm', 'users');
export const MM_COUNT = at('mm', 'count');
export const MM_MMAP_LOCK = at('mm', 'mmapLock');
export const MM_PTL = at('mm', 'ptlWord');
export const MM_TLB_FLUSH_PENDING = at('mm', 'tlbFlushPending');
export const MM_TLB_FLUSH_BATCHED = at('mm', 'tlbFlushBatched');
export const MM_NEXT_TRIM_CPUMASK = at('mm', 'nextTrimCpumask');
export const MM_PID = at('mm', 'pid');
export const MM_SPEC_START = at('mm', 'specStart');
export const MM_SPEC_PAGES = at('mm', 'specPages');
export const MM_SPEC_CHUNKS = at('mm', 'specChunks');
export const MM_ANON_PAGES = at('mm', 'anonPages');
// ASI (src/kernel/asi/space.ts):
export const MM_ASI_PGD = at('mm', 'asiPgd');
export const PGD_SHADOW_ASI_PGD = at('pgdShadow', 'asiPgd');
export const PGD_SHADOW_STRIDE = recordFormat('pgdShadow').stride;
export const MM_LOCAL_REGION = at('mm', 'localRegion');
export const MM_EPH_STALE_GEN = at('mm', 'ephStaleGen');
export const MM_EPH_FLUSHED_GEN = at('mm', 'ephFlushedGen');
export const MM_OPEN_REFS = at('mm', 'openRefs');
export const MM_GLOBAL_ASID = at('mm', 'globalAsid');
export const MM_ASID_TRANSITION = at('mm', 'asidTransition');

export const VMA_STRIDE = recordFormat('vma').stride;
export const VMA_FLAGS = at('vma', 'flags');
export const VMA_START = at('vma', 'start');
export const VMA_END = at('vma', 'end');
export const VMA_FILE = at('vma', 'file');
export const VMA_PGOFF = at('vma', 'pgoff');

export const TASK_STRIDE = recordFormat('task').stride;
export const TASK_STATE = at('task', 'state');
export const TASK_MM = at('task', 'mm');
export const TASK_CPU = at('task', 'cpu');
export const TASK_NEXT = at('task', 'next');
export const TASK_KIND = at('task', 'kind');
export const TASK_PINNED = at('task', 'pinned');
export const TASK_PARENT = at('task', 'parent');
export const TASK_W = at('task', 'w');
export const TASK_UBC_CPUMASK = at('task', 'ubcCpumask');
export const TASK_UBC_FLAGS = at('task', 'ubcFlags');

export const RQ_STRIDE = recordFormat('rq').stride;
export const RQ_LOCK = at('rq', 'lockWord');
export const RQ_CURR = at('rq', 'curr');
export const RQ_ACTIVE_MM = at('rq', 'activeMm');
export const RQ_HEAD = at('rq', 'head');
export const RQ_TAIL = at('rq', 'tail');
export const RQ_NR = at('rq', 'nr');

export const PT_LOCK_STRIDE = recordFormat('ptLock').stride;

export const FILE_STRIDE = recordFormat('file').stride;
export const FILE_LOCK = at('file', 'lockWord');
export const FILE_PAGES = at('file', 'pages');
export const FILE_I_MMAP = at('file', 'iMmap');
export const FILE_DIRTY = at('file', 'dirty');
export const FILE_DISK = at('file', 'disk');
/** fixes (issue 11): the folio lock of each cached page (src/kernel/mm/folio-lock.ts). */
export const FILE_FOLIO_LOCK = at('file', 'folioLock');
export { FILE_MAX, FILE_NR_PAGES } from './regions.js';

export const INVLPGB_STRIDE = recordFormat('invlpgb').stride;
export const INVLPGB_SEQ = at('invlpgb', 'seq');
export const INVLPGB_DONE = at('invlpgb', 'done');
export const INVLPGB_TAG = at('invlpgb', 'tag');
export const INVLPGB_VPN_LO = at('invlpgb', 'vpnLo');
export const INVLPGB_VPN_HI = at('invlpgb', 'vpnHi');
export const INVLPGB_PAGES = at('invlpgb', 'pages');
export const INVLPGB_FLAGS = at('invlpgb', 'flags');
export const INVLPGB_PENDING_STRIDE = recordFormat('invlpgbPending').stride;
export const INVLPGB_PENDING = at('invlpgbPending', 'pending');

// ephemeral maps (ephmap/mermap, issue 7)
export const EPHEM_STRIDE = recordFormat('ephem').stride;
export const EPH_IN_USE = at('ephem', 'ephInUse');
export const EPH_PAGES = at('ephem', 'ephPages');
export const MER_NEXT = at('ephem', 'merNext');
export const MER_IN_USE = at('ephem', 'merInUse');
export const MER_BASE = at('ephem', 'merBase');
export const MER_END = at('ephem', 'merEnd');
export const MER_RES_IN_USE = at('ephem', 'merResInUse');
export const MER_RES_PENDING = at('ephem', 'merResPending');
export const MER_FLUSHES = at('ephem', 'merFlushes');
export const KMAP_STRIDE = recordFormat('kmap').stride;
export const KMAP_IDX = at('kmap', 'idx');
export const KMAP_PTEVAL = at('kmap', 'pteval');

// lockdep-style checker (issue 7 remainder, src/check/lockdep.ts)
export const LOCKDEP_STRIDE = recordFormat('lockdep').stride;
export const LD_HELD = at('lockdep', 'held');
export const LD_STACK = at('lockdep', 'stack');
export const LD_DEPTH = at('lockdep', 'depth');
export const LDG_EDGE = at('lockdepGraph', 'edge');
export const LDG_EDGE_STACK = at('lockdepGraph', 'edgeStack');
export const LDG_REPORTS = at('lockdepGraph', 'reports');
export const LDG_KIND = at('lockdepGraph', 'kind');
export const LDG_CPU = at('lockdepGraph', 'cpu');
export const LDG_CLS = at('lockdepGraph', 'cls');
export const LDG_HELD_STACK = at('lockdepGraph', 'heldStack');
export const LDG_OTHER_CPU = at('lockdepGraph', 'otherCpu');
export const LDG_OTHER_STACK = at('lockdepGraph', 'otherStack');

// hugetlb with shared PMD tables (issue 11)
export const HUGETLB_LOCK = at('hugetlb', 'lockWord');
export const HUGETLB_NR_PAGES = at('hugetlb', 'nrPages');
export const HUGETLB_PFN = at('hugetlb', 'pfn');
export const HUGETLB_MAPPER_MM = at('hugetlb', 'mapperMm');
export const HUGETLB_MAPPER_VPN = at('hugetlb', 'mapperVpn');

// mshare and secondary MMUs (issue 8, branch mshare)
export const MSHARE_STRIDE = recordFormat('mshare').stride;
export const MSH_STATE = at('mshare', 'state');
export const MSH_HOST_MM = at('mshare', 'hostMm');
export const MSH_START_VPN = at('mshare', 'startVpn');
export const MSH_PAGES = at('mshare', 'pages');
export const MSH_PMD_TABLE = at('mshare', 'pmdTable');
export const MSH_STRATEGY = at('mshare', 'strategy');
export const MSH_NR_CLIENTS = at('mshare', 'nClients');
export const MSH_CLIENT = at('mshare', 'client');
export const MMU_NOTIFIER_STRIDE = recordFormat('mmuNotifier').stride;
export const MN_COUNT = at('mmuNotifier', 'count');
export const MN_KIND = at('mmuNotifier', 'kind');
export const MN_ARG = at('mmuNotifier', 'arg');
export const IOMMU_STRIDE = recordFormat('iommu').stride;
export const IOMMU_LOCK = at('iommu', 'lockWord');
export const IOMMU_ROOT = at('iommu', 'root');
export const IOMMU_MM = at('iommu', 'mm');
export const IOTLB_TAG_VPN = at('iommu', 'tagVpn');
export const IOTLB_PFN = at('iommu', 'pfn');
export const IOTLB_FILL_GEN = at('iommu', 'fillGen');
export const IOTLB_RW = at('iommu', 'rw');
// guest_memfd without a direct map (issue 8, src/kernel/gmem)
export const GMEM_CPA_LOCK = at('gmem', 'cpaLock');
export const GMEM_LEAVES = at('gmem', 'leaves');
export const GMEM_ANSWER = at('gmem', 'answer');
export const GMEM_PRE_PMD = at('gmem', 'prePmd');
export const GMEM_VM_MM = at('gmem', 'vmMm');
export const GMEM_BOOT_TABLES = at('gmem', 'bootTables');
export const GMEM_BOOT_SPLITS = at('gmem', 'bootSplits');
export const GMEM_KTHREAD = at('gmem', 'kthread');
export const GMEM_SLAT_STRIDE = recordFormat('gmemSlat').stride;
export const GMEM_SLAT_GFN = at('gmemSlat', 'gfn');
