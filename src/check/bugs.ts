// The registry of injectable bugs: the one list the CLI (`inject --list`),
// the docs and the tests read. Each bug is a named fault in our own code
// path, off by default, reproducing a real bug class (SEMANTICS.md §10).
//
// Code paths test a bug with `injected[BUG.name]`: a plain load from a
// thread-local byte array, cheap enough for the hot path.

export type BugLayer = 'tlb' | 'alloc' | 'asi' | 'ephmap' | 'gmem' | 'mshare' | 'deadlock';

export interface BugSpec {
  readonly name: string;
  readonly layer: BugLayer;
  /** The invariant the bug breaks, in one line. */
  readonly invariant: string;
  /**
   * How it is caught: the scenario (or check) and its arguments. Empty while
   * no code path implements the fault yet; such bugs are rejected by
   * `--inject` and listed as pending. Fill it in when you wire the bug.
   */
  readonly scenario: string;
  readonly args: readonly string[];
  /**
   * What the configuration needs for the bug's code path to run at all
   * (issue 12): a run that can never reach it is refused with the flags it
   * needs, instead of passing clean and looking like a missed detection.
   */
  readonly requires?: BugRequirement;
  /**
   * The published Linux fix this bug reverts (issue 11): "<commit> <subject>",
   * with the CVE first when there is one. Absent for bugs that model a bug
   * class rather than one published fix (and for the ASI and allocator
   * seeds, whose code is not upstream).
   */
  readonly source?: string;
}

/** A configuration a bug's code path needs: a scenario, a --variant, and/or an --option key=value. */
export interface BugRequirement {
  /** The scenario whose own kernel paths hold the bug (guest_memfd, mshare). */
  readonly scenario?: string;
  readonly variant?: string;
  readonly option?: { readonly key: string; readonly value: number | string };
  /** Why, in a few words (the path it lives on). */
  readonly why: string;
}

const bug = (name: string, layer: BugLayer, invariant: string, scenario = '', args: string[] = []): BugSpec =>
  ({ name, layer, invariant, scenario, args });

export const BUG_CATALOG: readonly BugSpec[] = [
  // TLB / SMP
  bug('free-before-flush', 'tlb', 'a frame is freed only after every TLB that may cache it was flushed', 'tlb-flush2-shared', ['--cpus', '4', '--seconds', '20']),
  bug('skip-lazy-on-pagetable-free', 'tlb', 'lazy CPUs are flushed before a page-table page is freed', 'munmap-storm', ['--cpus', '4', '--seconds', '20']),
  bug('flush-range-freed-tables-false', 'tlb', 'a flush that frees page tables reaches lazy CPUs', 'tlb-flush2', ['--cpus', '4', '--seconds', '20']),
  bug('ignore-switching-window', 'tlb', 'a CPU between its CR3 load and loaded_mm = next is flushed', 'tlb-flush2-mixed', ['--cpus', '4', '--seconds', '20']),
  bug('switch-mm-no-fence', 'tlb', 'switch_mm makes SWITCHING visible before it reads tlb_gen', 'tlb-flush2-shared-mixed', ['--cpus', '4', '--seconds', '20']),
  bug('gen-bump-before-pte-write', 'tlb', 'tlb_gen is bumped only after the PTE writes it covers', 'munmap-storm', ['--cpus', '4', '--seconds', '20']),
  bug('partial-flush-out-of-order', 'tlb', 'a partial flush is done only when new == local + 1', 'fork-cow', ['--cpus', '4', '--seconds', '20']),
  bug('stale-ctx-after-asid-evict', 'tlb', 'a recycled ASID is flushed before reuse', 'fork-cow', ['--cpus', '4', '--seconds', '20']),
  bug('ack-before-flush', 'tlb', 'the csd is released only after the flush ran', 'munmap-storm', ['--cpus', '4', '--seconds', '20']),
  bug('no-wait-for-ack', 'tlb', 'the initiator waits for every remote flush', 'tlb-flush2-shared', ['--cpus', '4', '--seconds', '20']),
  bug('ceiling-partial-flush', 'tlb', 'a range above the ceiling is flushed in full', 'munmap-storm', ['--cpus', '4', '--seconds', '20']),
  bug('missed-cpumask', 'tlb', 'CPUs that switched in during a flush are flushed', 'munmap-storm', ['--cpus', '4', '--seconds', '20']),
  bug('parallel-zap-no-nested-check', 'tlb', 'concurrent zaps of one range flush before freeing', 'tlb-flush2-shared', ['--cpus', '4', '--seconds', '20']),
  bug('reclaim-batch-vs-mprotect', 'tlb', 'PTE walkers flush pending reclaim batches', 'reclaim-mprotect', ['--cpus', '4', '--seconds', '20']),
  bug('mremap-flush-after-unlock', 'tlb', 'mremap flushes the old range before dropping the PTL', 'mremap-truncate', ['--cpus', '4', '--seconds', '20']),
  bug('table-free-before-invalidate', 'tlb', 'page tables are freed only after every walker cache was invalidated', 'munmap-storm', ['--cpus', '4', '--seconds', '20']),
  { ...bug('invlpgb-tlbsync-migrated', 'tlb', 'TLBSYNC runs on the CPU that issued the INVLPGBs', 'tlb-flush2-shared', ['--cpus', '4', '--seconds', '20', '--variant', 'invlpgb']),
    requires: { variant: 'invlpgb', why: 'TLBSYNC is only issued by the INVLPGB flush path' } },
  { ...bug('drop-invalidate-other', 'tlb', 'other ASIDs are invalidated after a kernel flush', 'fixmap-switch', ['--cpus', '4', '--seconds', '20']),
    requires: { option: { key: 'pti', value: 1 }, why: 'invalidate_other is only set when kernel mappings are non-global (PTI)' } },
  // allocator
  bug('buddy-xor-wrong-order', 'alloc', 'the buddy of pfn at order k is pfn xor 2^k', 'check:allocator',
    ['mem=16M', 'cpus=4', 'allocate pfns 0..3 as order 0, free 1 and 3, drain: they coalesce over live pfn 2', 'test=test/page_alloc/bugs.test.ts']),
  bug('merge-ignores-order', 'alloc', 'a block merges only with a free buddy of the same order', 'check:allocator',
    ['mem=16M', 'cpus=4', 'allocate pfns 0..3 as order 0, free 2, 0, 1, drain: order-1 block 0 swallows order-0 buddy 2 and live pfn 3', 'test=test/page_alloc/bugs.test.ts']),
  bug('expand-drops-half', 'alloc', 'expand() returns every upper half to the free lists', 'check:allocator',
    ['mem=16M', 'cpus=4', 'one order-0 allocation from a fresh zone splits an order-10 block; the order-9 half is lost', 'test=test/page_alloc/bugs.test.ts']),
  bug('claim-strict-gt', 'alloc', 'a pageblock is claimed when free + alike >= half of it', 'golden:claim-at-half',
    ['mem=16M', 'cpus=4', 'movable block with 256 free and 256 movable frames; an unmovable request must convert it', 'test=test/page_alloc/bugs.test.ts']),
  bug('steal-retypes-block', 'alloc', 'stealing never changes the pageblock type', 'check:allocator',
    ['mem=16M', 'cpus=4', 'movable block with 255 free and 257 movable frames; an unmovable request steals one frame', 'test=test/page_alloc/bugs.test.ts']),
  bug('pcp-stale-freetype', 'alloc', 'a drained pcp page goes to its pageblock\'s current freetype', 'check:allocator',
    ['mem=16M', 'cpus=4', 'cpu 0 caches a movable frame, cpu 1 claims its block for unmovable, cpu 0 drains', 'test=test/page_alloc/bugs.test.ts']),
  bug('remote-drain-no-lock', 'alloc', 'draining another CPU\'s pcp lists takes its pcp lock', 'stress:allocator',
    ['mem=16M', 'cpus=2', 'both CPUs allocate and free while draining every pcp list (10% of ops); a frame reaches two CPUs, a list breaks or frames are lost', 'test=test/page_alloc/remote-drain.test.ts']),
  bug('pb-word-nonatomic-rmw', 'alloc', 'pageblock flag words are updated atomically', 'check:allocator',
    ['mem=16M', 'cpus=4', 'cpu 1 sets pageblock 2\'s skip bit; inside its read-modify-write window cpu 0 claims pageblocks 0-1 for unmovable', 'test=test/page_alloc/bugs.test.ts']),
  // ASI / freetypes
  bug('flag-before-flush', 'asi', 'a block becomes sensitive only after the shootdown completed', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  bug('no-zero-on-map', 'asi', 'a block is zeroed before it is mapped nonsensitive', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  bug('zero-after-map', 'asi', 'a block is zeroed before, not after, it is mapped', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  bug('merge-across-sensitivity', 'asi', 'buddies of different sensitivity never merge', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  bug('subblock-cross-sensitivity-fallback', 'asi', 'sensitivity changes only for whole pageblocks', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  bug('pindex-drops-sensitivity', 'asi', 'pcp lists are separate per sensitivity', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  bug('remainder-wrong-freetype', 'asi', 'the flip remainder is freed on the new freetype', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  bug('asi-unmap-no-global-flush', 'asi', 'unmapping from the restricted physmap flushes every CPU', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  bug('asi-clear-curr-before-cr3', 'asi', 'curr_asi is cleared only after the CR3 write on exit', 'fio-randread',
    ['--cpus', '4', '--seconds', '20', '--variant', 'asi-on', '--option', 'interleave=20', '--option', 'discardEvery=4']),
  // ephmap / kmap
  bug('ephmap-skip-local-flush', 'ephmap', 'ephmap put flushes the local TLB', 'ephmap-copy', ['--cpus', '4', '--seconds', '20']),
  bug('ephmap-double-alloc', 'ephmap', 'an ephmap slot has one user', 'ephmap-copy', ['--cpus', '4', '--seconds', '20']),
  bug('ephmap-migrate-enabled', 'ephmap', 'ephmap users cannot migrate', 'ephmap-copy', ['--cpus', '4', '--seconds', '20']),
  bug('no-mitigation-flush-on-evict', 'ephmap', 'eviction flushes stale ephmap entries mm-wide', 'ephmap-copy', ['--cpus', '4', '--seconds', '20']),
  bug('no-mitigation-flush-on-close', 'ephmap', 'last close flushes stale ephmap entries mm-wide', 'ephmap-copy', ['--cpus', '4', '--seconds', '20', '--option', 'evictPercent=0']),
  bug('kmap-no-unmap-flush', 'ephmap', 'kunmap_local flushes its slot', 'ephmap-copy', ['--cpus', '4', '--seconds', '20', '--option', 'map=kmap']),
  // guest_memfd / mshare
  { ...bug('gmem-skip-flush', 'gmem', 'a direct-map zap flushes every CPU', 'guest-memfd', ['--cpus', '4', '--seconds', '20', '--variant', 'per-folio']),
    requires: { scenario: 'guest-memfd', why: 'the guest_memfd direct-map paths run only there' } },
  { ...bug('restore-after-free', 'gmem', 'the direct map is restored before the folio is freed', 'guest-memfd', ['--cpus', '4', '--seconds', '20', '--variant', 'per-folio']),
    requires: { scenario: 'guest-memfd', why: 'the guest_memfd direct-map paths run only there' } },
  { ...bug('recursive-split', 'gmem', 'direct-map splits never recurse into the allocator', 'guest-memfd', ['--cpus', '4', '--seconds', '20', '--variant', 'freetype']),
    requires: { scenario: 'guest-memfd', variant: 'freetype', why: 'only the unmapped freetype [un]maps the direct map inside the allocator' } },
  { ...bug('mshare-host-cpumask-only', 'mshare', 'mshare flushes reach every client CPU', 'mshare', ['--cpus', '4', '--seconds', '20']),
    requires: { scenario: 'mshare', why: 'only mshare regions share page tables between mms' } },
  { ...bug('mshare-free-before-flush', 'mshare', 'mshare frees a page only after the flush', 'mshare', ['--cpus', '4', '--seconds', '20', '--option', 'strategy=per-client']),
    requires: { scenario: 'mshare', why: 'only mshare regions share page tables between mms' } },
  { ...bug('mshare-no-tlbgen-bump', 'mshare', 'unloaded mshare clients catch up by generation', 'mshare', ['--cpus', '4', '--seconds', '20', '--option', 'strategy=union']),
    requires: { scenario: 'mshare', option: { key: 'strategy', value: 'union' }, why: 'only the union strategy relies on the clients\' generations (flush-all flushes every PCID, per-client bumps them in flush_tlb_mm_range)' } },

  // deadlock class: reported by lockdep (src/check/lockdep.ts) before it hangs, the watchdog as backstop
  bug('flush-under-zone-lock', 'deadlock', 'no shootdown under the zone lock', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  bug('noblock-ignored', 'deadlock', 'non-blocking allocations never flip sensitivity', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  bug('zone-under-pcp-inversion', 'deadlock', 'lock order is pcp before zone', 'flip-storm', ['--cpus', '4', '--seconds', '20']),
  // mermap (ephemeral maps, issue 7)
  bug('mermap-no-wrap-flush', 'ephmap', 'a mermap window that wraps flushes the local TLB once before reusing an address', 'ephmap-copy', ['--cpus', '4', '--seconds', '20', '--option', 'map=mermap']),
  bug('mermap-free-while-pending', 'ephmap', 'a page mapped through the mermap is freed only after its pending entries were flushed', 'ephmap-copy', ['--cpus', '4', '--seconds', '20', '--option', 'map=mermap']),
  // reach (issue 11): reverted real fixes. retract-no-pte-lock needs a
  // table that empties often: shared-file-writeback with a 4-page file.
  // zap-dirty-flush-after-unlock is caught by shared-file-writeback's
  // verifyBefore check, on by default since the folio lock (fixes branch).
  { ...bug('retract-no-pte-lock', 'tlb', 'a PTE table is retracted only under the lock its rmap walkers hold', 'shared-file-writeback',
    ['--cpus', '4', '--seconds', '20', '--option', 'pages=4', '--option', 'khugepagedPercent=100']),
    source: '8d3c106e19e8 mm/khugepaged: take the right locks for page table retraction' },
  { ...bug('zap-dirty-flush-after-unlock', 'tlb', 'a zapped dirty shared PTE is flushed before its PTE lock is dropped', 'shared-file-writeback', ['--cpus', '4', '--seconds', '20']),
    source: "1cf35d47712d mm: split 'tlb_flush_mmu()' into tlb flushing and memory freeing parts" },
  { ...bug('mremap-pmd-no-rmap-lock', 'tlb', 'mremap moves a whole PTE table only under the i_mmap lock its rmap walkers take', 'mremap-truncate', ['--cpus', '4', '--seconds', '20']),
    source: 'CVE-2022-41222; 97113eb39fa7 mm/mremap: hold the rmap lock in write mode when moving page table entries.' },
  { ...bug('invlpgb-table-free-no-sync', 'tlb', 'a page table flushed by INVLPGB is freed only after every lockless walker let go', 'munmap-storm',
    ['--cpus', '4', '--seconds', '20', '--variant', 'invlpgb', '--option', 'interleave=50', '--option', 'stallSpins=100000', '--option', 'stallSites=gup-fast']),
    requires: { variant: 'invlpgb', why: 'only an INVLPGB flush frees tables without waiting for CPUs with interrupts off' },
    source: 'a37259732a7d x86/mm: Make MMU_GATHER_RCU_TABLE_FREE unconditional' },
  { ...bug('collapse-no-gup-sync', 'tlb', 'khugepaged frees a collapsed range\'s old PTE table only after every lockless walker let go', 'munmap-storm',
    ['--cpus', '4', '--seconds', '20', '--variant', 'invlpgb', '--option', 'interleave=100', '--option', 'stallSpins=1000000', '--option', 'stallSites=gup-fast',
      '--option', 'chunkPercent=50', '--option', 'khugepagedPercent=50']),
    requires: { variant: 'invlpgb', why: 'only an INVLPGB flush frees tables without waiting for CPUs with interrupts off' },
    source: '2ba99c5e0881 mm/khugepaged: fix GUP-fast interaction by sending IPI' },
  { ...bug('hugetlb-unshare-no-flush', 'tlb', 'a process unsharing a hugetlb PMD table flushes the whole PUD range before the table can be freed', 'hugetlb-share',
    ['--cpus', '4', '--seconds', '20']),
    source: 'CVE-2021-4002; a4a118f2eead hugetlbfs: flush TLBs correctly after huge_pmd_unshare' },
  { ...bug('nested-flush-drops-freed-tables', 'tlb', 'a nested gather\'s forced flush keeps freed_tables, reaching lazy CPUs', 'madvise-race', ['--cpus', '4', '--seconds', '20']),
    source: '7a30df49f63a mm: mmu_gather: remove __tlb_reset_range() for force flush' },
  // copy-on-write through the ephemeral maps (issue 7 remainder, src/kernel/ephmap/copy-user.ts)
  bug('no-mitigation-flush-on-cow', 'ephmap', 'copy-on-write flushes stale ephemeral entries mm-wide before the process drops the source', 'cow-storm', ['--cpus', '4', '--seconds', '20', '--variant', 'asi-on+mermap']),
  // mshare and secondary MMUs (issue 8, branch mshare): the review finding on the posted series
  { ...bug('mshare-client-notifier-skipped', 'mshare', 'a change to an mshare host fires the mmu notifiers of every client mm', 'mshare', ['--cpus', '4', '--seconds', '20']),
    requires: { scenario: 'mshare', option: { key: 'iommu', value: 1 }, why: 'only a secondary MMU bound to a client (the IOMMU of process 1) listens to client notifiers' } },
  // NUMA hinting faults and page migration (issue 11, src/kernel/mm/numa.ts, migrate.ts)
  // PTI's user PCID (issue 11 item 4, src/kernel/tlb/user-pcid.ts)
  { ...bug('pti-no-user-pcid-flush', 'tlb', 'a flush of user addresses also marks the user PCID, flushed at the next return to user mode', 'munmap-storm',
    ['--cpus', '4', '--seconds', '20', '--option', 'pti=1']),
    requires: { option: { key: 'pti', value: 1 }, why: 'only PTI tags user-mode translations with a PCID of their own' },
    source: '6fd166aae78c x86/mm: Use/Fix PCID to optimize user/kernel switches' },
  { ...bug('numa-protnone-not-accessible', 'tlb', 'migration flushes a PROT_NONE entry while its mm has a TLB flush pending', 'tlb-flush2', ['--cpus', '4', '--seconds', '20']),
    source: '20841405940e mm: fix TLB flush race between migration, and change_protection_range' },
];

/**
 * Published fixes the catalogued bugs revert (BugSpec.source), by bug name.
 * Kept beside the catalogue rather than inside each row so the rows of
 * parallel branches stay mergeable; BUG_CATALOG_WITH_SOURCES joins them.
 * Commit ids and subjects were checked against the kernel's history.
 */
const BUG_SOURCES: Readonly<Record<string, string>> = {
  'skip-lazy-on-pagetable-free': '2ff6ddf19c0e x86/mm/tlb: Leave lazy TLB mode at page table free time',
  'flush-range-freed-tables-false': 'CVE-2025-22045; 3ef938c35035 x86/mm: Fix flush_tlb_range() when used for zapping normal PMDs',
  'ignore-switching-window': 'fea4e317f9e7 x86/mm: Eliminate window where TLB flushes may be inadvertently skipped',
  'switch-mm-no-fence': 'CVE-2025-40174; 83b0177a6c48 x86/mm: Fix SMP ordering in switch_mm_irqs_off()',
  'parallel-zap-no-nested-check': '99baac21e458 mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem',
  'reclaim-batch-vs-mprotect': '3ea277194daa mm, mprotect: flush TLB if potentially racing with a parallel reclaim leaving stale TLB entries',
  'mremap-flush-after-unlock': 'CVE-2018-18281; eb66ae030829 mremap: properly flush TLB before releasing the page',
  'table-free-before-invalidate': 'd86564a2f085 mm/tlb, x86/mm: Support invalidating TLB caches for RCU_TABLE_FREE',
};

/** Index of each bug by name: injected[BUG['free-before-flush']]. */
export const BUG: Readonly<Record<string, number>> = Object.fromEntries(BUG_CATALOG.map((b, i) => [b.name, i]));

/** This thread's injection switches. Set once at start, read on hot paths. */
export const injected = new Uint8Array(BUG_CATALOG.length);

export class UnknownBugError extends Error {
  override name = 'UnknownBugError';
}

export interface BugListing extends BugSpec {
  readonly implemented: boolean;
}

export function listBugs(): BugListing[] {
  return BUG_CATALOG.map((b) => ({ ...b, source: b.source ?? BUG_SOURCES[b.name], implemented: b.scenario !== '' }));
}

/** Turns on the named bugs in this thread; unknown or not-yet-wired names are errors. */
export function setInjected(names: readonly string[]): void {
  injected.fill(0);
  for (const name of names) {
    const i = BUG[name];
    if (i === undefined) {
      throw new UnknownBugError(`unknown bug "${name}": run 'shootdown inject --list' for the names`);
    }
    if (BUG_CATALOG[i]!.scenario === '') {
      throw new UnknownBugError(`bug "${name}" is catalogued but pending (no scenario catches it yet): run 'shootdown inject --list --all'`);
    }
    injected[i] = 1;
  }
}

/**
 * The first injected bug whose path this configuration never reaches, as
 * one line naming the flags it needs; null when every injected bug is
 * reachable. `options` are the scenario's resolved options (defaults
 * applied), so a scenario that turns pti on by itself passes.
 */
export function unreachableInjectedBug(variant: string, options: Readonly<Record<string, unknown>>, scenario: string): string | null {
  for (let i = 0; i < BUG_CATALOG.length; i++) {
    const req = injected[i] ? BUG_CATALOG[i]!.requires : undefined;
    if (!req) continue;
    const name = BUG_CATALOG[i]!.name;
    if (req.scenario !== undefined && req.scenario !== scenario) {
      return `--inject ${name} lives in the ${req.scenario} scenario's paths (${req.why}); this run is ${scenario}, so the bug could never fire`;
    }
    // A variant is a '+'-joined list of parts (asi-on+invlpgb): the bug's
    // part must be one of them.
    if (req.variant !== undefined && !variant.split('+').includes(req.variant)) {
      return `--inject ${name} needs --variant ${req.variant} (${req.why}); this run uses --variant ${variant}, so the bug could never fire`;
    }
    if (req.option !== undefined && options[req.option.key] !== req.option.value) {
      return `--inject ${name} needs --option ${req.option.key}=${req.option.value} (${req.why}); this run has ${req.option.key}=${String(options[req.option.key] ?? 'unset')}, so the bug could never fire`;
    }
  }
  return null;
}
