// Per-CPU event counters, in the order they sit in a CPU's counter block.
// The report layer turns these into metrics and simulated cycles.

export const COUNTER_NAMES = [
  'ops',
  'accesses',
  'tlbHits',
  'tlbMisses',
  'walks',
  'walkLevels',
  'pscHits',
  'pageFaults',
  'specFills',
  'invlpg',
  'invpcid',
  'cr3Writes',
  'cr3NoflushWrites',
  'flushesLocal',
  'flushesRemote',
  'flushesFull',
  'ipisSent',
  'ipisReceived',
  'ipiFuncRuns',
  'allocs',
  'frees',
  'pcpRefills',
  'pcpDrains',
  'fallbackClaims',
  'fallbackSteals',
  'pageTablesAllocated',
  'pageTablesFreed',
  'zeroedPages',
  'violations',
  'invlpgb',
  'interleavings',
  // ASI sensitivity flips (src/kernel/page_alloc/flip.ts): pageblocks
  // flipped each way, and compaction runs the flip path made.
  'pageblockFlipsToNonsensitive',
  'pageblockFlipsToSensitive',
  'compactions',
  // ASI, the nonsensitive address space (src/kernel/asi/enter-exit.ts):
  'asiEnters',
  'asiExits',
  'asiExitsPageFault',
  'asiExitsUserRet',
  'asiExitsContextSwitch',
  'asiExitsTlbFlush',
  'asiExitsMisc',
  'asiMitigations',
  // ephemeral maps (ephmap/mermap, issue 7)
  'ephmapMaps',
  'ephmapFallbacks',
  'mermapWraps',
  'mitigationFlushes',
  // cost model (issue 9, src/kernel/account.ts): syscall entries+exits,
  // 4 KiB page copies (read()'s copy, copy-on-write, migration), and
  // context switches to another task.
  'syscalls',
  'pageCopies',
  'contextSwitches',
  // mshare and secondary MMUs (issue 8, branch mshare): mmu-notifier
  // callbacks run (src/kernel/mmu_notifier), IOTLB invalidation requests
  // (src/hw/iommu.ts), TLB flushes of mshare host changes, and the CPUs
  // those flushes interrupted (targets of their IPIs).
  'notifierCalls',
  'iotlbInvalidations',
  'mshareFlushes',
  'mshareCpusInterrupted',
  // guest_memfd without a direct map (issue 8, src/kernel/gmem): direct-map
  // leaves split (1G->2M, 2M->4K), leaves or PTEs written back on free,
  // page-table pages allocated for the direct map (boot and splits),
  // nested [un]map attempts refused by the per-task flag, guest faults that
  // allocated a folio, kernel-range flushes of the direct map by the gmem
  // paths, and restores that would have needed a page table (WARN).
  'directMapSplits',
  'directMapRestores',
  'pageTablesForDirectMap',
  'recursionRefusals',
  'gmemFaults',
  'gmemKernelFlushes',
  'directMapRestoreWarns',
  // global ASIDs and the PTI user PCID (src/kernel/tlb/global-asid.ts,
  // user-pcid.ts): global ASIDs handed out, resets of the global ASID
  // space (each one INVLPGB of every non-global entry), and user PCIDs
  // flushed on the way back to user mode (SWITCH_TO_USER_CR3).
  'globalAsidsAssigned',
  'globalAsidResets',
  'userPcidFlushes',
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];

/** Counter index by name: C.tlbHits etc. */
export const C = Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i])) as { readonly [K in CounterName]: number };
