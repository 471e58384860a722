// The ordinary direct map as guest_memfd needs it (issue 8; SEMANTICS.md §8):
// frames taken out of it and put back, one 4 KiB folio or one 2 MiB
// pageblock at a time, on a direct map that may start with 1 GiB leaves.
// As arch/x86/mm/pat/set_memory.c: set_direct_map_invalid_noflush() and
// set_direct_map_default_noflush() over __change_page_attr(), which splits
// a large leaf (split_large_page(): one new page-table page from the page
// allocator per level) before it can change part of it, under cpa_lock.
// Nothing here flushes: the callers do (file.ts, unmapped-ops.ts), and
// that flush is what the strategies disagree about.
//
// The recursion hazard, made real. A split needs a page-table page FROM
// THE ALLOCATOR, and with the unmapped freetype the [un]map runs inside the
// allocator (rmqueueUnmapped -> unmapDirect -> here). The table page is
// asked for through k.alloc, the CPU's allocation-context wrapper
// (alloc-context.ts), which applies the running task's allocation scope
// the way current_gfp_context() applies PF_MEMALLOC_NOFS: guest memory is
// allocated under an "unmapped" scope, so the nested request is unmapped
// too, needs a fresh pageblock converted, which needs this path again,
// which needs a table... (Jackman's "turtles", 2025-10-31). What stops it
// is the answer in force (the gmem region's `answer` word):
//   (i)   refuse: entering this path sets a per-task flag (PF_MEMALLOC's
//         shape); an allocation made under it refuses the unmapped path and
//         takes ordinary mapped memory (counted: recursionRefusals);
//   (ii)  prealloc: a PMD table is built at boot for every 1 GiB leaf, so a
//         pageblock-sized unmap never allocates (2M -> 4K splits still do);
//   (iii) 4k: the whole direct map is split to 4 KiB the first time
//         guest_memfd is used, so nothing ever splits again.
// With none (`--inject recursive-split`), the nested call reaches
// rmqueueUnmapped with this path's lockdep classes held and lockdep reports
// the cycle before the CPU can recurse or self-deadlock on cpa_lock.

import { INIT_MM, PTE_G, PTE_NOGEN, PTE_P, PTE_PS, PTE_RW, PT_ENTRIES } from '../../../native-layout/bits.js';
import { C } from '../../../native-layout/counters.js';
import { GMEM_ANSWER, GMEM_CPA_LOCK, GMEM_LEAVES, GMEM_PRE_PMD, MM_PGD, MM_STRIDE } from '../../../native-layout/fields.js';
import { GMEM_MAX_GIB } from '../../../native-layout/regions.js';
import { BUG, injected } from '../../check/bugs.js';
import { LOCK_CLASS_DIRECT_MAP } from '../../check/lockdep.js';
import { clearEntry, entryWord, ptSlotOf, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { LEVEL_FRAMES, ptIndex, pteHi, pteLo, ptePfn } from '../../hw/pte.js';
import { mutexLock, mutexUnlock } from '../../sync/mutex.js';
import { physmapVa } from '../asi/layout.js';
import type { KernelCtx } from '../ctx.js';
import { ENOENT, allocPgtablePage, freePgtablePage, splitHugePmd, splitHugePud } from '../mm/pgtable.js';
import { SITE_PTE_WRITE, kernelPoint } from '../points.js';

/** Recursion answers (the gmem region's `answer` word). */
export const ANSWER_NONE = 0;
export const ANSWER_REFUSE = 1;
export const ANSWER_PREALLOC = 2;
export const ANSWER_4K = 3;
export type RecursionAnswer = 'refuse' | 'prealloc' | '4k';
export const RECURSION_ANSWERS: readonly RecursionAnswer[] = ['refuse', 'prealloc', '4k'];
const ANSWER_CODE: Readonly<Record<RecursionAnswer, number>> = { refuse: ANSWER_REFUSE, prealloc: ANSWER_PREALLOC, '4k': ANSWER_4K };

const BUG_RECURSIVE_SPLIT = BUG['recursive-split']!;
const PUD_FRAMES = LEVEL_FRAMES[3]!;
const PMD_FRAMES = LEVEL_FRAMES[2]!;
/** A kernel table pointer (as pgtable.ts tableProt() for the kernel half). */
const KERNEL_TABLE = PTE_P | PTE_RW;

export class GmemDirectMapError extends Error {
  override name = 'GmemDirectMapError';
}

/**
 * The running task's flags that matter here. Per CPU, private: a task
 * cannot migrate in the middle of one allocation (the path never sleeps
 * with the flags set), so the CPU's copy is the task's.
 */
export class GmemTaskFlags {
  /** PF_MEMALLOC-like: depth of the direct-map [un]map path on this task. */
  inDirectMap = 0;
  /** memalloc_unmapped_save() scope: allocations inherit __GFP_UNMAPPED. */
  unmappedScope = 0;
}

/**
 * Where a walk of the direct map for one address stopped. level: the
 * level of the entry at `word` (1 PTE, 2 PMD, 3 PUD); leaf: that entry is
 * a present leaf; missing: a table above it is absent (restoring would
 * need a page-table page).
 */
class DmWalk {
  level = 0;
  word = -1;
  leaf = false;
  missing = false;
}

/** One CPU's handle on the direct map's [un]map path. Built once per CPU. */
export class GmemDirectMap {
  readonly flags = new GmemTaskFlags();
  private readonly w = new DmWalk();

  constructor(readonly k: KernelCtx) {}

  private root(): number {
    return this.k.mm[INIT_MM * MM_STRIDE + MM_PGD]!;
  }

  /** The answer in force: the machine's, or none under --inject recursive-split. */
  answer(): number {
    return injected[BUG_RECURSIVE_SPLIT] !== 0 ? ANSWER_NONE : this.k.views.gmem[GMEM_ANSWER]!;
  }

  /**
   * Walks init_mm's tables for va down to `stop` (or the first leaf or
   * hole above it). No locks: callers hold cpa_lock, or only read.
   */
  private walk(va: number, stop: number): DmWalk {
    const env = this.k.env;
    const out = this.w;
    let table = this.root();
    out.missing = false;
    for (let level = 4; level >= 1; level--) {
      const word = entryWord(ptSlotOf(env.frame, table), ptIndex(va, level));
      const lo = readLo(env.pt, word);
      out.level = level;
      out.word = word;
      out.leaf = (lo & PTE_P) !== 0 && (level === 1 || (lo & PTE_PS) !== 0);
      if (level === stop || out.leaf) return out;
      if ((lo & PTE_P) === 0) {
        out.missing = true;
        return out;
      }
      table = ptePfn(lo, readHi(env.pt, word));
    }
    return out;
  }

  /** Whether pfn is reachable through the direct map now (a software walk, as lookup_address()). */
  mapped(pfn: number): boolean {
    const w = this.walk(physmapVa(pfn), 1);
    return w.leaf;
  }

  /**
   * Enters the [un]map section: lockdep's direct-map class, then cpa_lock,
   * then the per-task flag. lockdep comes first so a re-entry is reported
   * before this CPU waits for a lock it holds itself.
   */
  private enter(): void {
    const k = this.k;
    k.smp.lockdep.acquire(k.cpu, LOCK_CLASS_DIRECT_MAP, false);
    mutexLock(k.views.gmem, GMEM_CPA_LOCK);
    this.flags.inDirectMap++;
  }

  private leave(): void {
    const k = this.k;
    this.flags.inDirectMap--;
    mutexUnlock(k.views.gmem, GMEM_CPA_LOCK);
    k.smp.lockdep.release(k.cpu, LOCK_CLASS_DIRECT_MAP);
  }

  /**
   * Splits the leaves covering va until the entry at `level` is its own
   * (split_large_page() once per level). 0, or ENOMEM when a table page
   * could not be had (nothing changed below the split that failed).
   */
  private splitTo(va: number, level: number): number {
    const k = this.k;
    for (;;) {
      const w = this.walk(va, level);
      if (w.level <= level || !w.leaf) return 0;
      if (w.level === 3 && this.installPrebuilt(va, w.word)) continue;
      const before = k.counters[k.countersAt + C.pageTablesAllocated]!;
      const r = w.level === 3 ? splitHugePud(k.env, k.cpu, this.root(), va) : splitHugePmd(k.env, k.cpu, this.root(), va);
      if (r < 0) return r;
      k.counters[k.countersAt + C.directMapSplits] += 1;
      k.counters[k.countersAt + C.pageTablesForDirectMap] += k.counters[k.countersAt + C.pageTablesAllocated]! - before;
    }
  }

  /**
   * Answer (ii): replaces a 1 GiB leaf by the PMD table built for it at
   * boot (same frames, same rights, so any TLB entry of the leaf still
   * translates the same until the caller's flush). No allocation.
   */
  private installPrebuilt(va: number, word: number): boolean {
    const k = this.k;
    if (this.answer() !== ANSWER_PREALLOC) return false;
    const gib = Math.floor(ptIndexGib(va));
    if (gib >= GMEM_MAX_GIB) return false;
    const pre = Atomics.exchange(k.views.gmem, GMEM_PRE_PMD + gib, 0) - 1;
    if (pre < 0) return false;
    setEntry(k.env.pt, k.env.seq, word, pteLo(pre, KERNEL_TABLE), pteHi(pre, 0));
    kernelPoint(SITE_PTE_WRITE);
    k.counters[k.countersAt + C.directMapSplits] += 1;
    return true;
  }

  /**
   * set_direct_map_invalid_noflush() for nr frames from pfn (nr 1, or a
   * whole aligned pageblock of 512): splits what covers them, then clears
   * their leaves. TLBs may still translate them: the caller flushes. 0, or
   * ENOMEM (a split could not get its page table; the frames stay mapped).
   */
  invalidate(pfn: number, nr: number): number {
    if (nr !== 1 && (nr !== PMD_FRAMES || pfn % PMD_FRAMES !== 0)) throw new GmemDirectMapError(`set_direct_map_invalid of ${nr} frames at pfn ${pfn}: 1, or an aligned pageblock of 512`);
    const k = this.k;
    const va = physmapVa(pfn);
    this.enter();
    try {
      const r = this.splitTo(va, nr === 1 ? 1 : 2);
      if (r < 0) return r;
      const w = this.walk(va, nr === 1 ? 1 : 2);
      if (w.leaf) {
        clearEntry(k.env.pt, k.env.seq, w.word);
        kernelPoint(SITE_PTE_WRITE);
        return 0;
      }
      const lo = readLo(k.env.pt, w.word);
      if (nr === PMD_FRAMES && w.level === 2 && !w.missing && (lo & PTE_P) !== 0) {
        // Already at 4 KiB (answer iii, or a per-folio split): clear every PTE.
        const slot = ptSlotOf(k.env.frame, ptePfn(lo, readHi(k.env.pt, w.word)));
        for (let i = 0; i < PT_ENTRIES; i++) clearEntry(k.env.pt, k.env.seq, entryWord(slot, i));
        kernelPoint(SITE_PTE_WRITE);
        return 0;
      }
      return ENOENT;
    } finally {
      this.leave();
    }
  }

  /**
   * set_direct_map_default_noflush(): writes the leaves of nr frames from
   * pfn back, as directMapInit built them (a 2 MiB leaf for a block whose
   * PMD entry is empty, else PTEs). Never allocates: the invalidate split
   * down to the level it cleared and nothing merges tables back. If a
   * table is missing after all, the WARN counter directMapRestoreWarns
   * counts it and the frames stay unmapped (restore must not fail, so it
   * does not try to allocate here, inside the free path).
   */
  restore(pfn: number, nr: number): void {
    const k = this.k;
    const va = physmapVa(pfn);
    const prot = PTE_RW | PTE_NOGEN | (k.variant.asi ? 0 : PTE_G);
    this.enter();
    try {
      const w = this.walk(va, nr === 1 ? 1 : 2);
      // A hole above (a table would have to be allocated) or a leaf still
      // in place (nothing was removed): restore has nothing safe to do.
      if (w.missing || w.leaf) {
        k.counters[k.countersAt + C.directMapRestoreWarns] += 1;
        return;
      }
      if (nr === PMD_FRAMES && readLo(k.env.pt, w.word) === 0) {
        setEntry(k.env.pt, k.env.seq, w.word, pteLo(pfn, prot | PTE_P | PTE_PS), pteHi(pfn, prot));
      } else if (nr === PMD_FRAMES) {
        const lo = readLo(k.env.pt, w.word);
        const slot = ptSlotOf(k.env.frame, ptePfn(lo, readHi(k.env.pt, w.word)));
        for (let i = 0; i < PT_ENTRIES; i++) setEntry(k.env.pt, k.env.seq, entryWord(slot, i), pteLo(pfn + i, prot | PTE_P), pteHi(pfn + i, prot));
      } else {
        setEntry(k.env.pt, k.env.seq, w.word, pteLo(pfn, prot | PTE_P), pteHi(pfn, prot));
      }
      kernelPoint(SITE_PTE_WRITE);
      k.counters[k.countersAt + C.directMapRestores] += 1;
    } finally {
      this.leave();
    }
  }

  /**
   * Answer (ii) at boot: a PMD table of 512 2 MiB leaves for every 1 GiB
   * leaf, built but not installed (the leaf stays: TLB reach is kept until
   * a split is needed). Counted in pageTablesForDirectMap.
   */
  preallocPmdTables(): void {
    const k = this.k;
    const frames = k.env.frames;
    const prot = PTE_RW | PTE_NOGEN | (k.variant.asi ? 0 : PTE_G);
    for (let pfn = 0, gib = 0; pfn + PUD_FRAMES <= frames && gib < GMEM_MAX_GIB; pfn += PUD_FRAMES, gib++) {
      const w = this.walk(physmapVa(pfn), 3);
      if (!w.leaf || w.level !== 3) continue;
      const t = allocPgtablePage(k.env, k.cpu);
      if (t < 0) throw new GmemDirectMapError(`no memory for the pre-allocated PMD table of GiB ${gib} (${t})`);
      const slot = ptSlotOf(k.env.frame, t);
      for (let i = 0; i < PT_ENTRIES; i++) {
        const p = pfn + i * PMD_FRAMES;
        setEntry(k.env.pt, k.env.seq, entryWord(slot, i), pteLo(p, prot | PTE_P | PTE_PS), pteHi(p, prot));
      }
      k.views.gmem[GMEM_PRE_PMD + gib] = t + 1;
      k.counters[k.countersAt + C.pageTablesForDirectMap] += 1;
    }
  }

  /** Frees the pre-built tables no split used (end of run: they are reachable from nothing). */
  freeUnusedPrebuilt(): void {
    const k = this.k;
    for (let gib = 0; gib < GMEM_MAX_GIB; gib++) {
      const t = Atomics.exchange(k.views.gmem, GMEM_PRE_PMD + gib, 0) - 1;
      if (t >= 0) freePgtablePage(k.env, k.cpu, t);
    }
  }

  /**
   * Answer (iii), at the first use of guest_memfd: every large leaf split
   * to 4 KiB (513 page-table pages per GiB), before any CPU runs.
   */
  fragmentAll(): void {
    const k = this.k;
    for (let pfn = 0; pfn < k.env.frames; pfn += PMD_FRAMES) {
      this.enter();
      try {
        const r = this.splitTo(physmapVa(pfn), 1);
        if (r < 0) throw new GmemDirectMapError(`no memory to split the direct map to 4 KiB at pfn ${pfn} (${r})`);
      } finally {
        this.leave();
      }
    }
  }
}

/** Which GiB of the direct map va lies in. */
function ptIndexGib(va: number): number {
  return (va - physmapVa(0)) / 2 ** 30;
}

/** Records the boot shape and the recursion answer (main thread, before any CPU runs). */
export function gmemBootDirectMap(k: KernelCtx, leaves: '1g' | '2m' | '4k', answer: RecursionAnswer): void {
  k.views.gmem[GMEM_LEAVES] = leaves === '1g' ? 1 : leaves === '2m' ? 2 : 3;
  k.views.gmem[GMEM_ANSWER] = ANSWER_CODE[answer];
}
