// Page-cache reclaim (mm/vmscan.c shrink_folio_list() with mm/rmap.c
// try_to_unmap() / try_to_unmap_one()), reduced to clean and dirty file
// pages: unmap a list of pages from every mm, batching the TLB flushes
// (tlb/batch.ts), write back the dirty ones, and free the clean ones.
//
// Per page, in list order:
//   1. isolate it (take a reference: nothing frees it under us) and
//      trylock it (a page a fault holds locked is skipped): the lock keeps
//      faults from mapping it again until step 3 has written it back
//      (folio-lock.ts);
//   2. try_to_unmap: under i_mmap (read), clear every PTE that maps it,
//      each under its PTE lock. When other CPUs may cache the mm the flush
//      is deferred into the task's batch; otherwise the page is flushed at
//      once (ptep_clear_flush). A dirty PTE makes the page dirty;
//   3. a dirty page: if this pass found it mapped, it is kept for now, as
//      kswapd leaves a dirty file page to the flusher threads the first
//      time it sees it (folio_set_reclaim + activate); otherwise the batch
//      is flushed if it holds a dirty PTE (try_to_unmap_flush_dirty: a CPU
//      could still write the page through it while it is written out and
//      the write would be lost with the page), then it is written back;
//   4. at the end of the list, try_to_unmap_flush(), and only then each
//      clean page still unmapped is taken out of the cache with its count
//      frozen (a fault may have mapped it again: then it stays) and freed.
// Freeing before step 4's flush would leave CPUs translating to a frame
// the allocator hands to someone else.

import { PTE_D, PTE_P } from '../../../native-layout/bits.js';
import { FILE_NR_PAGES } from '../../../native-layout/fields.js';
import { clearEntry, entryWord, readHi, readLo } from '../../hw/ptstore.js';
import { ptePfn } from '../../hw/pte.js';
import type { KernelCtx } from '../ctx.js';
import { kernelDelayUs } from '../../sync/hook.js';
import {
  UBC_FLUSH_REQUIRED, archTlbbatchShouldDefer, setTlbUbcFlushPending, tlbUbcFlags, tryToUnmapFlush, tryToUnmapFlushDirty,
} from '../tlb/batch.js';
import { ghostCheckWriteback } from '../../check/ghost-writeback.js';
import { flushTlbPage } from '../tlb/flush-mm.js';
import {
  filemapWriteback, filePageDirty, findGetPage, markFilePageDirty, removeMappingFrozen,
} from './filemap.js';
import { folioTrylock, folioUnlock } from './folio-lock.js';
import { putPage } from './page-ref.js';
import { iMmapLockRead, iMmapUnlockRead, lockPteOf, rmapWalkFile, unlockPteOf } from './rmap.js';
import { PTRS_PER_PTE } from './zap.js';

/** Pages one shrink pass takes at most (SWAP_CLUSTER_MAX). */
export const RECLAIM_LIST_MAX = 32;
/** References of an isolated, unmapped cache page: the cache's and reclaim's. */
const ISOLATED_REFS = 2;

/** What one pass did (counts, for the scenario's report and tests). */
export class ReclaimStats {
  scanned = 0;
  /** PTEs cleared by try_to_unmap_one. */
  unmapped = 0;
  /** ...of which with the flush deferred into the batch. */
  deferred = 0;
  writebacks = 0;
  evicted = 0;
  /** Pages left in the cache: dirty and just unmapped, or mapped again. */
  kept = 0;
  /** Batch flushes (try_to_unmap_flush that found something to flush). */
  batchFlushes = 0;
}

/** A shrink pass's page list and its per-CPU scratch (built once, reused). */
export class ReclaimList {
  readonly index = new Int32Array(RECLAIM_LIST_MAX);
  readonly pfn = new Int32Array(RECLAIM_LIST_MAX);
  /** Per page: 1 to free after the batch flush. */
  readonly free = new Uint8Array(RECLAIM_LIST_MAX);
  n = 0;
  file = -1;
  /** Host microseconds one writeback spins (the simulated I/O), answering IPIs meanwhile. */
  ioSpinUs = 0;
  // try_to_unmap_one's state for the rmap walk callback.
  tid = -1;
  private curPfn = -1;
  private mappedNow = 0;
  readonly stats = new ReclaimStats();
  readonly visit: (mm: number, vpn: number) => void;
  private k: KernelCtx | null = null;

  constructor() {
    this.visit = (mm, vpn) => this.tryToUnmapOne(mm, vpn);
  }

  /** Starts a list of pages of file. */
  begin(k: KernelCtx, tid: number, file: number): void {
    this.k = k;
    this.tid = tid;
    this.file = file;
    this.n = 0;
  }

  add(index: number): boolean {
    if (this.n === RECLAIM_LIST_MAX || !(index >= 0 && index < FILE_NR_PAGES)) return false;
    this.index[this.n++] = index;
    return true;
  }

  /**
   * try_to_unmap_one() for the PTE of mm at vpn, if it maps the page:
   * clear it under its lock; defer the flush when other CPUs may cache mm,
   * else flush that page now; move the dirty bit to the page; drop the
   * PTE's reference (ours keeps the page).
   */
  private tryToUnmapOne(mm: number, vpn: number): void {
    const k = this.k!;
    const slot = lockPteOf(k, mm, vpn);
    if (slot < 0) return;
    const pt = k.env.pt;
    const w = entryWord(slot, vpn & (PTRS_PER_PTE - 1));
    const lo = readLo(pt, w);
    if ((lo & PTE_P) === 0 || ptePfn(lo, readHi(pt, w)) !== this.curPfn) {
      unlockPteOf(k, mm, vpn, slot);
      return;
    }
    const old = clearEntry(pt, k.env.seq, w);
    const dirty = (old & PTE_D) !== 0;
    if (archTlbbatchShouldDefer(k, mm)) {
      setTlbUbcFlushPending(k, this.tid, mm, dirty);
      this.stats.deferred++;
    } else {
      flushTlbPage(k, mm, vpn);
    }
    if (dirty) markFilePageDirty(k, this.curPfn);
    unlockPteOf(k, mm, vpn, slot);
    putPage(k, this.curPfn);
    this.mappedNow++;
    this.stats.unmapped++;
  }

  /** try_to_unmap(): every mapping of page i of the list. Returns how many were cleared. */
  tryToUnmap(i: number): number {
    const k = this.k!;
    this.curPfn = this.pfn[i]!;
    this.mappedNow = 0;
    iMmapLockRead(k, this.file);
    rmapWalkFile(k, this.file, this.index[i]!, this.visit);
    iMmapUnlockRead(k, this.file);
    return this.mappedNow;
  }
}

/** The simulated I/O of a writeback: the task waits, the CPU keeps taking interrupts. */
function ioWait(k: KernelCtx, us: number): void {
  if (us <= 0) return;
  kernelDelayUs(us);
}

/**
 * shrink_folio_list() over the pages of list (begin/add), by the task tid
 * (whose tlb_ubc batches the flushes). Returns the pages freed.
 */
export function shrinkPageList(k: KernelCtx, list: ReclaimList): number {
  const st = list.stats;
  const tid = list.tid;
  const file = list.file;
  for (let i = 0; i < list.n; i++) {
    list.free[i] = 0;
    const index = list.index[i]!;
    const pfn = findGetPage(k, file, index);
    list.pfn[i] = pfn;
    if (pfn < 0) continue;
    st.scanned++;
    // A fault is mapping it (truncation and compaction do not take the
    // lock here: a simplification, see folio-lock.ts): leave it for a later
    // pass (shrink_folio_list's folio_trylock; see folio-lock.ts for why
    // the lock is held from here to the writeback).
    if (!folioTrylock(k, file, index)) {
      st.kept++;
      continue;
    }
    const mapped = list.tryToUnmap(i);
    if (filePageDirty(k, file, index)) {
      if (mapped > 0) {
        folioUnlock(k, file, index);
        st.kept++;
        continue;
      }
      tryToUnmapFlushDirty(k, tid);
      ghostCheckWriteback(k.views, k.cpus, pfn, k.cpu, k.mmu.walker.task, k.mmu.walker.op);
      filemapWriteback(k, file, index, pfn);
      st.writebacks++;
      // pageout() unlocks once the write is issued: a fault may map the
      // page during the I/O, which the frozen count at removal then sees.
      folioUnlock(k, file, index);
      ioWait(k, list.ioSpinUs);
    } else {
      folioUnlock(k, file, index);
    }
    list.free[i] = 1;
  }
  // Every deferred flush completes before any page is freed.
  if ((tlbUbcFlags(k, tid) & UBC_FLUSH_REQUIRED) !== 0) st.batchFlushes++;
  tryToUnmapFlush(k, tid);
  let freed = 0;
  for (let i = 0; i < list.n; i++) {
    const pfn = list.pfn[i]!;
    if (pfn < 0) continue;
    if (list.free[i] !== 0 && removeMappingFrozen(k, file, list.index[i]!, pfn, ISOLATED_REFS)) {
      k.alloc.freePages(k.cpu, pfn, 0);
      freed++;
    } else {
      if (list.free[i] !== 0) st.kept++;
      putPage(k, pfn);
    }
  }
  st.evicted += freed;
  return freed;
}
