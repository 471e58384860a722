// THE declarative description of every SharedArrayBuffer region. Everything
// else (offsets, typed views, the C header, `shootdown layout`) is derived
// from this table; add a field here and it exists everywhere.
//
// A region is an array of records. A record's fields are 32-bit words
// ('i32') or, for counters, 64-bit floats ('f64', exact to 2^53). Field
// arrays have a static length so record formats never depend on the machine
// size; only a region's record count does.

import {
  NR_PAGE_ORDERS, PAGEBLOCK_NR_PAGES, type MachineShape, frameCount,
} from './shape.js';
import { GLOBAL_ASID_WORDS, NR_FREETYPES, NR_PCP_LISTS_FT, PB_PER_WORD, PT_WORDS, USER_PCID_FLUSH_WORDS } from './bits.js';
import { COUNTER_NAMES } from './counters.js';

export type Scalar = 'i32' | 'f64';

export interface FieldSpec {
  readonly name: string;
  /** Array length; 1 for a scalar field. */
  readonly count?: number;
  readonly doc: string;
}

export interface RegionSpec {
  readonly name: string;
  readonly doc: string;
  readonly scalar: Scalar;
  readonly fields: readonly FieldSpec[];
  /** Pad each record to a multiple of this many bytes (64 = one cache line, so CPUs do not share lines). */
  readonly recordAlign?: number;
  /** How many records the machine has. */
  readonly count: (s: MachineShape) => number;
  /** Which budget the region belongs to in `shootdown layout`. */
  readonly scales: 'frame' | 'pageblock' | 'cpu' | 'fixed' | 'pagetable';
}

/**
 * The oracle keeps the first VIOLATION_RECORDS_PER_KIND records of each
 * violation kind, VIOLATION_SLOTS in all, each with every CPU's last
 * VIOLATION_SNAP_EVENTS trace events copied when it happened (a run that
 * goes on for thousands of ops after a violation would otherwise show
 * unrelated events). Kinds are counted up to VIOLATION_KINDS_MAX.
 */
export const VIOLATION_SLOTS = 16;
export const VIOLATION_RECORDS_PER_KIND = 3;
export const VIOLATION_SNAP_EVENTS = 8;
export const VIOLATION_KINDS_MAX = 32;

/** Files the page cache can hold, and pages per file (regions 'file'). */
export const FILE_MAX = 8;
export const FILE_NR_PAGES = 512;

/** mshare (issue 8): regions per machine, and clients each can have. */
export const MSHARE_REGIONS = 2;
export const MSHARE_MAX_CLIENTS = 64;
/** hugetlb (issue 11): huge pages in the one hugetlbfs file, and VMAs that may map it at once. */
export const HUGETLB_MAX_PAGES = 8;
export const HUGETLB_MAX_MAPPERS = 32;
/** mmu notifiers (issue 8): subscriptions per mm. */
export const MMU_NOTIFIER_MAX_SUBS = 4;
/** IOMMU-like devices (issue 8) and their IOTLB entries (direct-mapped by vpn). */
export const IOMMU_DEVICES = 2;
export const IOTLB_ENTRIES = 64;

const f = (name: string, doc: string, count = 1): FieldSpec => ({ name, doc, count });

/** guest_memfd (issue 8): GiB of memory the pre-allocated PMD tables cover (the 64G machine maximum). */
export const GMEM_MAX_GIB = 64;
/** guest_memfd (issue 8): guest frames per vCPU slice of the second-level table (8 MiB of guest memory). */
export const GMEM_SLAT_GFNS = 2048;

/** Spinlock: three words, see src/sync/spinlock.ts. */
const lockFields = (prefix: string): FieldSpec[] => [
  f(`${prefix}Word`, 'spinlock: bit 0 locked, bit 1 pending (the queue head reserved the next handoff)'),
  f(`${prefix}Tail`, 'spinlock: next queue ticket to hand out'),
  f(`${prefix}Head`, 'spinlock: ticket of the waiter first in line'),
];

export const TLB_ENTRY_FIELDS = [
  f('vpnLo', 'virtual page number bits 0..31 (of the entry\'s own page size, in 4 KiB units)'),
  f('meta', 'pcid | vpn bits 32..35 | valid, global, size, RW, US, NX, dirty, spec (bits.ts TLB_*)'),
  f('pfn', 'first frame of the translation'),
  f('fillGen', 'frame content generation when filled (oracle only; the kernel never reads it)'),
];

export const REGIONS: readonly RegionSpec[] = [
  {
    name: 'control',
    doc: 'run control shared by every CPU: stop flag, start barrier, watchdog epoch',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => 1,
    fields: [
      f('stop', 'non-zero asks every CPU to stop at its next op boundary'),
      f('barrierCount', 'CPUs arrived at the start barrier'),
      f('barrierGen', 'start barrier generation (futex word)'),
      f('epoch', 'bumped by the watchdog on every tick'),
      f('cpusOnline', 'number of CPUs attached'),
      f('cpusDone', 'CPUs past their op loop (quiescing: still answering IPIs until every CPU is)'),
      f('schedToken', 'serialized engine: the one CPU allowed to run (futex word), -1 before the start'),
      f('schedRng', 'serialized engine: xorshift32 state of the schedule, advanced only by the token holder'),
      f('schedSteps', 'serialized engine: scheduling decisions so far (the virtual clock)'),
      f('schedGone', 'serialized engine: CPUs that left the run (never picked again), a 64-bit cpumask', 2),
      f('schedTurn', 'serialized engine: per-CPU futex word bumped when the token is handed to that CPU', 64),
      f('schedWaiting', 'serialized engine: CPUs whose last scheduling point was a wait spin, a 64-bit cpumask', 2),
      f('schedPriority', 'serialized engine, pct: per-CPU priority (higher runs)', 64),
      f('schedChangeAt', 'serialized engine, pct: the steps at which the running CPU drops to the lowest priority', 16),
    ],
  },
  {
    name: 'frame',
    doc: 'struct page plus frame contents, one record per 4 KiB frame',
    scalar: 'i32',
    scales: 'frame',
    count: frameCount,
    fields: [
      f('flags', 'state (bits 0..3), order (4..7), flag bits (bits.ts FRAME_*)'),
      f('next', 'free-list / pcp-list successor pfn, -1 for none'),
      f('prev', 'free-list / pcp-list predecessor pfn, -1 for none'),
      f('private', 'page-table store slot for page tables; owning CPU for pcp pages'),
      f('refcount', 'references (low 16) and mappings (high 16)'),
      f('contentGen', 'content generation: bumped on every free (oracle reads it)'),
      f('content', 'owner domain (high 16) and secret tag (low 16) of the data'),
    ],
  },
  {
    name: 'pageblock',
    doc: 'pageblock flags: 8 bits per 512-frame block, 4 blocks per word (CAS-updated)',
    scalar: 'i32',
    scales: 'pageblock',
    count: (s) => Math.ceil(frameCount(s) / PAGEBLOCK_NR_PAGES / PB_PER_WORD),
    fields: [f('word', 'migratetype (3 bits), skip, isolate, nonsensitive for 4 pageblocks')],
  },
  {
    name: 'zone',
    doc: 'the one zone: lock, buddy free lists per order and freetype, counters',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => 1,
    fields: [
      ...lockFields('lock'),
      f('freeHead', 'free list heads [order * NR_FREETYPES + freetype], -1 empty', NR_PAGE_ORDERS * NR_FREETYPES),
      f('freeTail', 'free list tails, same index', NR_PAGE_ORDERS * NR_FREETYPES),
      f('nrFree', 'free blocks per order, all freetypes', NR_PAGE_ORDERS),
      f('freePages', 'NR_FREE_PAGES: frames in the buddy lists (not on pcp lists)'),
      f('managedPages', 'frames the allocator manages'),
      f('wmarkMin', 'min watermark (frames)'),
      f('wmarkLow', 'low watermark (frames)'),
      f('wmarkHigh', 'high watermark (frames)'),
      f('nrReservedHighatomic', 'frames in highatomic pageblocks'),
      f('pcpBatch', 'zone_batchsize: frames moved per pcp refill or drain'),
      f('pcpHigh', 'pcp high mark: drain when a CPU caches this many'),
    ],
  },
  {
    name: 'pcp',
    doc: 'per-CPU page lists (struct per_cpu_pages), one record per CPU',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'cpu',
    count: (s) => s.cpus,
    fields: [
      ...lockFields('lock'),
      f('count', 'frames on this CPU\'s lists'),
      f('high', 'drain when count reaches this'),
      f('batch', 'frames per refill or drain'),
      f('freeCount', 'frees since the last allocation (free_high heuristic)'),
      f('head', 'list heads [order_to_pindex], -1 empty', NR_PCP_LISTS_FT),
      f('tail', 'list tails, same index', NR_PCP_LISTS_FT),
    ],
  },
  {
    name: 'cpu',
    doc: 'per-CPU architectural and kernel state (CR3, IRQ flag, tlb_state)',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'cpu',
    count: (s) => s.cpus,
    fields: [
      f('cr3Root', 'pfn of the loaded PGD'),
      f('cr3Pcid', 'PCID in CR3 bits 0..11'),
      f('irqsDisabled', 'non-zero: IPIs are not taken'),
      f('preemptCount', 'preemption disabled depth'),
      f('migrateDisabled', 'migration disabled depth'),
      f('inZoneLock', 'non-zero while this CPU holds the zone lock (lock-order checks)'),
      f('loadedMm', 'tlb_state.loaded_mm (mm id, -1 none, -2 switching)'),
      f('loadedMmAsid', 'tlb_state.loaded_mm_asid'),
      f('nextAsid', 'tlb_state.next_asid'),
      f('isLazy', 'tlb_state.is_lazy'),
      f('invalidateOther', 'tlb_state.invalidate_other'),
      f('ctxId', 'tlb_state.ctxs[asid].ctx_id', 6),
      f('ctxTlbGen', 'tlb_state.ctxs[asid].tlb_gen', 6),
      f('csdWaitSince', 'ms since the run epoch + 1 when this CPU began waiting for a csd to unlock; 0 when not waiting (watchdog)'),
      f('csdWaitFor', 'index of the csd that wait is for (valid while csdWaitSince is non-zero)'),
      // ASI, the nonsensitive address space (src/kernel/asi):
      f('asiCurr', 'curr_asi: mm whose nonsensitive address space CR3 holds (written before the CR3 write on enter, cleared after it on exit); -1 none'),
      f('asiTaints', 'ASI taints since the last mitigation: {kernel,user,guest,other-mm} x {data,control} bits (src/kernel/asi/taints.ts)'),
      f('asiLastMm', 'mm whose untrusted code last ran on this CPU (taints of another mm become OTHER_MM ones); -1 none'),
      f('asiTlbGen', 'NOFLUSH variant: tlb_gen the nonsensitive PCID of each ASID slot is current with; -1 must be flushed at the next enter', 6),
      // ghost state (issue 11 item 6, src/check/ghost-gen.ts): written next to the hardware flushes, never read by the kernel
      f('ghostCtxId', 'ctx_id of the mm whose translations the slot\'s PCID was last fully flushed for', 6),
      f('ghostTlbGen', 'the mm\'s tlb_gen up to which the slot\'s PCID was really flushed', 6),
      // PTI (src/kernel/tlb/user-pcid.ts)
      f('userPcidFlushMask', 'tlb_state.user_pcid_flush_mask: bit kPCID set = that user PCID is flushed at the next return to user (SWITCH_TO_USER_CR3)', USER_PCID_FLUSH_WORDS),
    ],
  },
  {
    name: 'tlb4k',
    doc: '4 KiB TLB entries: per CPU, sets x ways (owner CPU writes only)',
    scalar: 'i32',
    scales: 'cpu',
    count: (s) => s.cpus * s.tlb4kSets * s.tlb4kWays,
    fields: TLB_ENTRY_FIELDS,
  },
  {
    name: 'tlbHuge',
    doc: '2 MiB / 1 GiB TLB entries: per CPU, sets x ways',
    scalar: 'i32',
    scales: 'cpu',
    count: (s) => s.cpus * s.tlbHugeSets * s.tlbHugeWays,
    fields: TLB_ENTRY_FIELDS,
  },
  {
    name: 'tlbVictim',
    doc: 'round-robin replacement cursor per TLB set (4 KiB sets, then huge sets)',
    scalar: 'i32',
    scales: 'cpu',
    count: (s) => s.cpus * (s.tlb4kSets + s.tlbHugeSets),
    fields: [f('next', 'way to replace next')],
  },
  {
    name: 'psc',
    doc: 'paging-structure cache: cached PDE pointers per PCID',
    scalar: 'i32',
    scales: 'cpu',
    count: (s) => s.cpus * s.pscEntries,
    fields: [
      f('meta', 'pcid | valid | cached upper-level RW, US, NX (bits.ts PSC_*)'),
      f('vaTag', 'va >> 21 (27 bits for a 48-bit address)'),
      f('ptPfn', 'pfn of the page table the PDE points to'),
      f('fillGen', 'contentGen of that page-table frame at fill (oracle only: a freed and reused table is detected)'),
    ],
  },
  {
    name: 'ptStore',
    doc: 'contents of page-table pages: 512 64-bit entries as (lo, hi) words',
    scalar: 'i32',
    scales: 'pagetable',
    count: (s) => s.ptPages,
    fields: [f('entry', 'PTE words [index * 2 + (0 lo | 1 hi)]', PT_WORDS)],
  },
  {
    name: 'ptSlots',
    doc: 'free stack of page-table store slots',
    scalar: 'i32',
    scales: 'pagetable',
    count: (s) => s.ptPages + 4,
    fields: [f('slot', 'words 0..2 spinlock, 3 top; then the stack')],
  },
  {
    name: 'ptSeq',
    doc: 'per page-table store slot: entry writes started and finished (a walker retries a read that a write overlapped)',
    scalar: 'i32',
    scales: 'pagetable',
    count: (s) => s.ptPages,
    fields: [
      f('writesStarted', 'bumped before the kernel rewrites an entry of this table'),
      f('writesDone', 'bumped after; equal to writesStarted when no write is in flight'),
    ],
  },
  {
    name: 'csd',
    doc: 'call_single_data per (sender, target) pair: IPI payloads and the csd lock',
    scalar: 'i32',
    recordAlign: 32,
    scales: 'cpu',
    count: (s) => s.cpus * s.cpus,
    fields: [
      f('flags', 'CSD_FLAG_LOCK while in flight'),
      f('func', 'function id to run on the target'),
      f('info', 'arguments', 4),
      f('next', 'next csd index in the target queue, -1 end'),
      // ghost state (issue 11 item 6): not read by the emulated kernel, only by the check
      f('ghostSeq', 'sender: sequence number of the last call through this csd'),
      f('ghostRan', 'target: ghostSeq of the last SYNC call whose function has returned'),
    ],
  },
  {
    name: 'ipi',
    doc: 'per-CPU IPI mailbox: lock-free call_single_queue head and doorbell',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'cpu',
    count: (s) => s.cpus,
    fields: [
      f('queueHead', 'first csd index, -1 empty'),
      f('doorbell', 'futex word rung on send'),
      f('received', 'IPIs taken'),
      f('parked', 'non-zero while this CPU sleeps in Atomics.wait on its doorbell (senders and ackers notify only then)'),
      f('waitAddr', 'word address (SAB index) of the lock or event this CPU sleeps for, -1 none: releasers kick exactly its waiters (src/sync/wake.ts)'),
      f('waitVal', 'with waitAddr: the value it waits for (a ticket), or -1 for any change'),
    ],
  },
  {
    name: 'invlpgb',
    doc: 'INVLPGB request slot per (issuer, target) pair: one request in flight, applied by the target (src/hw/invlpgb.ts)',
    scalar: 'i32',
    recordAlign: 32,
    scales: 'cpu',
    count: (s) => s.cpus * s.cpus,
    fields: [
      f('seq', 'requests the issuer wrote into this slot (issuer writes)'),
      f('done', 'requests the target applied (target writes; TLBSYNC waits for done == seq)'),
      f('tag', 'address-space tag the target resolves to its PCIDs (the mm ctx id under the kernel resolver)'),
      f('vpnLo', 'first 4 KiB page, bits 0..31'),
      f('vpnHi', 'first 4 KiB page, bits 32..35'),
      f('pages', 'page count at the stride'),
      f('flags', 'INVLPGB_* (all non-global of the tag; 2 MiB stride)'),
    ],
  },
  {
    name: 'invlpgbPending',
    doc: 'per-CPU count of INVLPGB requests not yet applied: the access path loads it once',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'cpu',
    count: (s) => s.cpus,
    fields: [
      f('pending', 'incremented by issuers after publishing a slot, decremented by the target as it applies'),
    ],
  },
  {
    name: 'counters',
    doc: 'per-CPU event counters (only the owner CPU writes its block)',
    scalar: 'f64',
    recordAlign: 64,
    scales: 'cpu',
    count: (s) => s.cpus,
    fields: COUNTER_NAMES.map((n) => f(n, 'event counter')),
  },
  {
    name: 'traceHead',
    doc: 'per-CPU trace ring write cursor',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'cpu',
    count: (s) => s.cpus,
    fields: [f('head', 'events written (index = head & (entries - 1))')],
  },
  {
    name: 'trace',
    doc: 'per-CPU trace rings: event (kind | op << 8), a, b, c, seq',
    scalar: 'i32',
    scales: 'cpu',
    count: (s) => s.cpus * s.traceEntries,
    fields: [
      f('event', 'event kind (bits 0..7) | low 24 bits of the CPU\'s op number (8..31)'), f('a', 'arg'), f('b', 'arg'), f('c', 'arg'),
      // trace files (issue 10): the merge order of the CPUs' streams
      f('seq', 'global event sequence (low 32 bits): traceSeq when the event was made; exact under the serialized engine'),
    ],
  },
  {
    name: 'oracle',
    doc: 'violation count, count per kind, and how many record slots are taken',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => 1,
    fields: [
      f('violations', 'violations seen'),
      f('slotsUsed', 'record slots claimed (may exceed VIOLATION_SLOTS: claims past the end keep no record)'),
      f('kindCount', 'violations seen per kind (index: the V_* constant)', VIOLATION_KINDS_MAX),
    ],
  },
  {
    name: 'oracleRecord',
    doc: 'kept violation records: the first few of each kind, in the order they were claimed',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => VIOLATION_SLOTS,
    fields: [
      f('ready', '1 once the record and its snapshot are written'),
      f('kind', 'violation kind'),
      f('cpu', 'CPU that saw it'),
      f('task', 'task running there'),
      f('vaLo', 'va bits 0..31'),
      f('vaHi', 'va bits 32..47'),
      f('pfn', 'frame involved'),
      f('fillGen', 'generation the TLB entry was filled with'),
      f('frameGen', 'generation of the frame now'),
      f('op', 'op sequence number'),
      f('slotCpu', '1 + the CPU that owned the ephemeral slot involved (0: not an ephemeral-map violation)'),
      // checked software walks (reach, issue 11)
      f('swWalker', 'sw-walk-freed-table: the kernel walker (src/check/walkers.ts WALKER_NAMES index) that stepped into a dead table, 0 none'),
      f('swLevel', 'sw-walk-freed-table: the level of the table it stepped into (1 = PTE table .. 4 = PGD)'),
      f('swFreedBy', 'sw-walk-freed-table: 1 + the CPU that last freed that table frame, 0 unknown'),
    ],
  },
  {
    name: 'oracleSnap',
    doc: 'per kept record, every CPU\'s last trace events when the violation happened (same format as trace)',
    scalar: 'i32',
    scales: 'cpu',
    count: (s) => VIOLATION_SLOTS * s.cpus * VIOLATION_SNAP_EVENTS,
    fields: [f('event', 'event kind | op << 8 (0: no event)'), f('a', 'arg'), f('b', 'arg'), f('c', 'arg')],
  },
  {
    name: 'kernel',
    doc: 'kernel globals: the mm context id counter and the lock that hands out mm and task slots',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => 1,
    fields: [
      f('lastCtxId', 'last_mm_ctx_id: every mm gets the next value, never reused (no ABA on tlb_state.ctxs)'),
      ...lockFields('slotLock'),
      f('booted', 'non-zero once the kernel objects were set up (init_mm exists)'),
      f('lastPid', 'last process id handed out (the content domain of its pages)'),
      // ASI sensitivity flips (src/kernel/asi/physmap.ts)
      f('asiPhysmapPud', 'pfn + 1 of the nonsensitive physmap\'s PUD table; 0 = no physmap (ASI off)'),
      // ephemeral maps (ephmap/mermap, issue 7)
      f('mmLocalRegion', 'non-zero: every new mm gets the mm-local region (ephmap + mermap windows, tables pre-populated for every CPU)'),
      f('ephmapSlots', 'K: ephmap slots per (mm, CPU), 1 as posted or 2 (copy-on-write maps source and destination)'),
      // global ASIDs (--variant invlpgb, src/kernel/tlb/global-asid.ts)
      ...lockFields('globalAsidLock'),
      f('lastGlobalAsid', 'last_global_asid: where the next search of the global ASID space starts'),
      f('globalAsidAvailable', 'global_asid_available: global ASIDs neither held by an mm nor freed since the last reset'),
      f('globalAsidUsed', 'global_asid_used: bit a set = ASID a is held, or freed and not yet flushed', GLOBAL_ASID_WORDS),
      f('globalAsidFreed', 'global_asid_freed: bit a set = ASID a was freed; reusable after the next reset flush', GLOBAL_ASID_WORDS),
    ],
  },
  {
    name: 'mm',
    doc: 'struct mm_struct, one record per address space; record 0 is init_mm',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: (s) => s.maxMms,
    fields: [
      f('state', 'MM_FREE, MM_NEW, MM_LIVE, MM_DEAD (bits.ts)'),
      f('ctxId', 'context.ctx_id: unique for the life of the machine'),
      f('tlbGen', 'context.tlb_gen: incremented atomically after the PTE changes each flush covers'),
      f('cpumask', 'mm_cpumask: CPUs that may cache this mm (each sets its own bit on switch-in)', 2),
      f('pgd', 'pfn of the PGD'),
      f('users', 'mm_users: tasks sharing the address space'),
      f('count', 'mm_count: mm_users counts once; each CPU whose active_mm this is holds one more'),
      f('mmapLock', 'mmap_lock: rwsem words (src/sync/rwsem.ts)', 4),
      ...lockFields('ptl'),
      f('tlbFlushPending', 'mmu_gathers in progress on this mm (mm_tlb_flush_nested when > 1)'),
      f('tlbFlushBatched', 'tlb_flush_batched: reclaim unmaps with a deferred flush (bits 0..15) and how many of them the last flush_tlb_batched_pending covered (16..31); src/kernel/tlb/batch.ts'),
      f('nextTrimCpumask', 'ms since the run epoch after which a flush may IPI cpumask CPUs running another mm to trim them'),
      f('pid', 'process id: the content domain of pages this mm writes'),
      f('specStart', 'first page (vpn) of the range this mm\'s speculative fills aim at'),
      f('specPages', 'pages of that range per chunk (0: none)'),
      f('specChunks', 'chunks of 512 pages the range repeats over (one per thread region)'),
      f('anonPages', 'anonymous pages mapped (MM_ANONPAGES)'),
      // ASI (src/kernel/asi/space.ts):
      f('asiPgd', 'pfn of the nonsensitive PGD (struct asi.pgd); -1 none (ASI off, or init_mm)'),
      // ephemeral maps (ephmap/mermap, issue 7)
      f('localRegion', 'non-zero once the mm-local region\'s page tables exist (src/kernel/ephmap/region.ts)'),
      f('ephStaleGen', 'bumped by every ephemeral put: some CPU of this mm may hold some stale ephemeral entry since then'),
      f('ephFlushedGen', 'the ephStaleGen the last completed mitigation flush covered (equal: nothing to flush)'),
      f('openRefs', 'references to the scenario file this process has open (struct file f_count, one file per mm): > 0 open, 0 closed, -1 last close in progress'),
      // global ASIDs (src/kernel/tlb/global-asid.ts)
      f('globalAsid', 'context.global_asid: 0, or the ASID this mm runs under on every CPU'),
      f('asidTransition', 'context.asid_transition: 1 while some CPU may still run the mm under a dynamic ASID'),
    ],
  },
  {
    name: 'vma',
    doc: 'struct vm_area_struct: maxVmas slots per mm, index mm * maxVmas + i',
    scalar: 'i32',
    scales: 'fixed',
    count: (s) => s.maxMms * s.maxVmas,
    fields: [
      f('flags', 'VM_* (bits.ts); 0 is a free slot'),
      f('start', 'first page (vpn: va >> 12)'),
      f('end', 'page after the last (vpn)'),
      f('file', 'backing file id, -1 for anonymous memory'),
      f('pgoff', 'file page offset of start'),
    ],
  },
  {
    name: 'file',
    doc: 'page cache (struct address_space, reduced): FILE_MAX files of FILE_NR_PAGES pages; slot = pfn + 1 of the cached page, 0 not cached',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => FILE_MAX,
    fields: [
      ...lockFields('lock'),
      f('pages', 'per page index: pfn + 1 of the cache page (holds one reference), 0 none yet', FILE_NR_PAGES),
      f('iMmap', 'i_mmap_rwsem: rwsem words (src/sync/rwsem.ts); held for write while a VMA mapping this file changes, for read by rmap walks', 4),
      f('dirty', 'per page index: PG_dirty of the cached page (set when an unmapped PTE was dirty, cleared by writeback)', FILE_NR_PAGES),
      f('disk', 'per page index: the content word last written back (the backing store; 0 is a hole)', FILE_NR_PAGES),
      // fixes (issue 11): the lost write of shared-file-writeback
      f('folioLock', 'per page index: PG_locked of the cached page, a futex mutex word (src/sync/mutex.ts): held by a fault from finding the page until its PTE is set, by reclaim from its rmap walk until the writeback (src/kernel/mm/folio-lock.ts)', FILE_NR_PAGES),
    ],
  },
  {
    name: 'task',
    doc: 'struct task_struct: user threads (mm >= 0) and kernel threads (mm = -1)',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: (s) => s.maxTasks,
    fields: [
      f('state', 'TASK_* (bits.ts)'),
      f('mm', 'address space, NO_MM (-1) for a kernel thread'),
      f('cpu', 'CPU whose run queue holds it, or that runs it'),
      f('next', 'run-queue successor, -1 last'),
      f('kind', 'which workload program it runs'),
      f('pinned', 'CPU it is bound to (kernel per-CPU threads), -1 migratable'),
      f('parent', 'task that forked it, -1 none'),
      f('w', 'workload program state (lives here so it survives migration)', 9),
      f('ubcCpumask', 'tlb_ubc (struct tlbflush_unmap_batch): CPUs to flush before reclaim frees or writes back what it unmapped', 2),
      f('ubcFlags', 'tlb_ubc: flush_required (bit 0), writable (bit 1: a dirty PTE was unmapped without a flush)'),
    ],
  },
  {
    name: 'ptLock',
    doc: 'split page-table locks: one spinlock per page-table store slot (ptlock_ptr for the table in that slot)',
    scalar: 'i32',
    scales: 'pagetable',
    count: (s) => s.ptPages,
    fields: [...lockFields('lock')],
  },
  {
    name: 'rq',
    doc: 'per-CPU run queue',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'cpu',
    count: (s) => s.cpus,
    fields: [
      ...lockFields('lock'),
      f('curr', 'task running on this CPU, -1 idle'),
      f('activeMm', 'active_mm: the mm this CPU borrows (its user task\'s, or the previous one\'s while a kernel thread runs); holds an mm_count'),
      f('head', 'first queued task, -1 empty'),
      f('tail', 'last queued task, -1 empty'),
      f('nr', 'queued tasks'),
    ],
  },
  // ASI (src/kernel/asi/space.ts):
  {
    name: 'pgdShadow',
    doc: 'per page-table store slot: pfn + 1 of the nonsensitive PGD whose user half mirrors the PGD in this slot (asi_clone_user_pgtbl); 0 none',
    scalar: 'i32',
    scales: 'pagetable',
    count: (s) => s.ptPages,
    fields: [f('asiPgd', 'pfn + 1 of the mirroring nonsensitive PGD, 0 none')],
  },
  // ephemeral maps (ephmap/mermap, issue 7)
  {
    name: 'ephem',
    doc: 'per (mm, CPU) ephemeral-map state, record mm * cpus + cpu: the ephmap slots and the mermap window (src/kernel/ephmap, src/kernel/mermap)',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'cpu',
    count: (s) => s.maxMms * s.cpus,
    fields: [
      f('ephInUse', 'ephmap in_use per slot: 1 + the task holding it, 0 free', 2),
      f('ephPages', 'pages the slot maps while in use', 2),
      f('merNext', 'mermap next_addr: page offset in the window where the next allocation starts'),
      f('merInUse', 'mermap allocs[i].in_use: 1 + the holding task, 0 free', 4),
      f('merBase', 'mermap allocs[i].base (page offset in the window)', 4),
      f('merEnd', 'mermap allocs[i].end (page offset, exclusive)', 4),
      f('merResInUse', 'the reserved page: 1 + the holding task, 0 free'),
      f('merResPending', 'the reserved page was put and not flushed since'),
      f('merFlushes', 'local flushes the window did (wraps and flushes before a free): the contract test reads it'),
    ],
  },
  {
    name: 'kmap',
    doc: 'per task kmap_local state (task_struct.kmap_ctrl): the LIFO depth and the saved PTE (pfn + 1) of each slot',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: (s) => s.maxTasks,
    fields: [
      f('idx', 'slots in use (the LIFO depth)'),
      f('pteval', 'per slot: pfn + 1 of the page it maps, 0 none', 16),
    ],
  },
  // ---- trace files (issue 10) ----
  {
    name: 'traceSeq',
    doc: 'the next global trace sequence number: read and bumped with plain accesses by whoever emits (no barrier: see src/trace/ring.ts)',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => 1,
    fields: [
      f('next', 'sequence number the next event takes (low 32 bits)'),
      f('perCpu', 'non-zero while each CPU numbers its events on from its own last one (serialized engine, until the schedule starts)'),
    ],
  },
  // checked software walks (reach, issue 11)
  {
    name: 'ptOwner',
    doc: 'per page-table store slot: the mm whose tables it holds, and the last frame that left it (checked software walks, src/check/sw-walk.ts)',
    scalar: 'i32',
    scales: 'pagetable',
    count: (s) => s.ptPages,
    fields: [
      f('mm', '1 + the mm the table in this slot belongs to; 0 for kernel tables (shared by every PGD)'),
      f('freedPfn', '1 + the frame that last left this slot (pte_free), 0 none'),
      f('freedBy', '1 + the CPU that freed it'),
    ],
  },
  // lockdep-style checker (issue 7 remainder, src/check/lockdep.ts)
  {
    name: 'lockdep',
    doc: 'per-CPU held lock classes (lockdep: task_struct.held_locks, folded to classes): written by the owner CPU only, read by others for reports',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'cpu',
    count: (s) => s.cpus,
    fields: [
      f('held', 'bitmask of lock classes held (src/check/lockdep.ts LOCK_CLASS_*)'),
      f('stack', 'classes in acquisition order, one nibble each (class + 1), the oldest in the low nibble'),
      f('depth', 'per class: how many of its locks this CPU holds (nested locks of one class)', 8),
    ],
  },
  {
    name: 'lockdepGraph',
    doc: 'lockdep: the dependency graph between lock classes, learnt from every CPU, and the first report',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => 1,
    fields: [
      f('edge', 'edge[a * 8 + b]: class b was taken while a was held; 0 never, else 1 + the CPU that used it first (low byte, 0: none yet), | 0x100 when declared at boot', 64),
      f('edgeStack', 'per edge: the held stack (nibbles) of the CPU that recorded it, for the report', 64),
      f('reports', 'hazards reported'),
      f('kind', 'first report: violation kind'),
      f('cpu', 'first report: CPU'),
      f('cls', 'first report: the class acquired or waited under (low byte), 1 + the held class in conflict (next byte)'),
      f('heldStack', 'first report: the reporting CPU\'s held stack'),
      f('otherCpu', 'first report: CPU that recorded the reverse dependency, -1 none'),
      f('otherStack', 'first report: that CPU\'s held stack when it did'),
    ],
  },
  // mshare and secondary MMUs (issue 8, branch mshare): src/kernel/mshare,
  // src/kernel/mmu_notifier, src/hw/iommu.ts
  {
    name: 'mshare',
    doc: 'mshare regions (src/kernel/mshare): a host mm owning the page tables of a 1 GiB-aligned range, and the client mms whose PUD entry for the range points at the host\'s PMD table',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => MSHARE_REGIONS,
    fields: [
      f('state', '0 free, 1 live'),
      f('hostMm', 'the host mm (never runs: its cpumask stays empty)'),
      f('startVpn', 'first page of the range (1 GiB aligned)'),
      f('pages', 'pages in the range (at most 512 * 512: one PMD table)'),
      f('pmdTable', 'pfn of the host\'s PMD table that every client PUD entry points at'),
      f('strategy', 'TLB flush strategy of a host change (src/kernel/mshare/flush.ts MSHARE_FLUSH_*)'),
      f('nClients', 'attached client mms'),
      f('client', 'the attached client mms, in attach order', MSHARE_MAX_CLIENTS),
    ],
  },
  // hugetlb with shared PMD tables (issue 11): src/kernel/mm/hugetlb.ts
  {
    name: 'hugetlb',
    doc: 'the hugetlbfs file (src/kernel/mm/hugetlb.ts): its preallocated 2 MiB pages, and the VMAs mapping it (its i_mmap), under one lock',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => 1,
    fields: [
      ...lockFields('lock'),
      f('nrPages', 'huge pages in the file'),
      f('pfn', 'head frame of each huge page (an order-9 block)', HUGETLB_MAX_PAGES),
      f('mapperMm', 'per mapping VMA: 1 + its mm, 0 a free slot', HUGETLB_MAX_MAPPERS),
      f('mapperVpn', 'per mapping VMA: its first page (1 GiB aligned; the file from offset 0)', HUGETLB_MAX_MAPPERS),
    ],
  },
  {
    name: 'mmuNotifier',
    doc: 'per mm: its mmu-notifier subscriptions (struct mmu_notifier_subscriptions, reduced to a fixed array): ops kind and argument of each',
    scalar: 'i32',
    scales: 'fixed',
    count: (s) => s.maxMms,
    fields: [
      f('count', 'subscriptions registered'),
      f('kind', 'ops of each subscription (src/kernel/mmu_notifier/notifier.ts MN_OPS_*)', MMU_NOTIFIER_MAX_SUBS),
      f('arg', 'argument of each (the IOMMU id, the mshare region)', MMU_NOTIFIER_MAX_SUBS),
    ],
  },
  {
    name: 'iommu',
    doc: 'IOMMU-like devices (src/hw/iommu.ts): a walker of process page tables with its own direct-mapped IOTLB, invalidated only by mmu-notifier callbacks',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => IOMMU_DEVICES,
    fields: [
      ...lockFields('lock'),
      f('root', 'pfn of the PGD it walks (the bound mm\'s), -1 unbound'),
      f('mm', 'the bound mm, -1 none'),
      f('tagVpn', 'per IOTLB entry: 1 + the vpn it translates, 0 invalid', IOTLB_ENTRIES),
      f('pfn', 'per IOTLB entry: the frame', IOTLB_ENTRIES),
      f('fillGen', 'per IOTLB entry: the frame\'s content generation at fill (oracle only)', IOTLB_ENTRIES),
      f('rw', 'per IOTLB entry: 1 if the leaf was writable', IOTLB_ENTRIES),
    ],
  },
  // guest_memfd without a direct map (issue 8, src/kernel/gmem)
  {
    name: 'gmem',
    doc: 'guest_memfd: how the ordinary direct map was built and the recursion answer in force, and the page tables pre-allocated for answer (ii)',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'fixed',
    count: () => 1,
    fields: [
      f('cpaLock', 'futex mutex (src/sync/mutex.ts) serialising direct-map [un]maps and splits, as cpa_lock'),
      f('leaves', 'direct-map leaves at boot: 0 not built by gmem, 1 = 1 GiB, 2 = 2 MiB, 3 = 4 KiB'),
      f('answer', 'recursion answer: 0 none, 1 refuse (per-task flag), 2 pre-allocated PMD tables, 3 direct map at 4 KiB'),
      f('prePmd', 'per GiB of memory: 1 + pfn of a PMD table pre-built for its 1 GiB leaf (answer 2), 0 none or used', GMEM_MAX_GIB),
      f('bootTables', 'page-table pages the direct map took at boot (its build and the answer\'s tables), added to CPU 0\'s pageTablesForDirectMap'),
      f('bootSplits', 'leaves split at boot (answer iii), added to CPU 0\'s directMapSplits'),
      f('vmMm', '1 + the mm that owns the guest memory (kvm->mm): the mm a kernel thread borrows to map it through the mermap; 0 none'),
      f('kthread', 'per CPU: 1 + the task id of its gmem kernel thread (migration), 0 none', 64),
    ],
  },
  {
    name: 'gmemSlat',
    doc: 'guest_memfd: each vCPU\'s slice of its VM\'s second-level table (gfn -> 1 + pfn, 0 not present); written by the fault path, cleared by the mmu-notifier invalidation',
    scalar: 'i32',
    recordAlign: 64,
    scales: 'cpu',
    count: (s) => s.cpus,
    fields: [f('gfn', 'second-level entry of guest frame gfn of this vCPU\'s slice: 1 + host pfn, 0 not present', GMEM_SLAT_GFNS)],
  },
];
