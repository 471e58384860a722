// Mitigation flushes for the ephemeral maps (Brendan Jackman's rule,
// linux-mm 2025-08-21, reference/kernel_tlb_asi.md §4.6): correctness
// needs only the local flush at put, but every CPU running the mm walks
// the same page tables, so any of them may speculatively cache another
// CPU's live slot. Such an entry is harmless while the process may still
// read the page anyway; it becomes a leak the moment the process loses
// logical access to the frame (page-cache eviction, truncation, last
// close): from then on a CPU in the mm's (nonsensitive) address space
// holds a translation to a frame it may not see, and after the frame is
// reused, to someone else's data.
//
// So: an mm-global flush whenever the process may lose access to a frame,
// but only if some ephemeral mapping happened since the last such flush.
// One per-mm mark says "some CPU of this mm may hold some stale ephemeral
// entry", as two counters: ephStaleGen (bumped by every put) and
// ephFlushedGen (the stale generation the last completed mitigation flush
// covered). A run of evictions with no get in between costs one flush,
// not one each. The flush itself is the ordinary flush_tlb_mm (a full
// flush of the mm's PCID on every CPU of mm_cpumask, lazy ones included,
// and a generation bump for CPUs that ran the mm before: they flush when
// they switch back), so it shares the IPI machinery and its batching.
//
// Why two counters and not a flag cleared by the flusher: with a flag, a
// second evictor that finds it already cleared would go on to free its
// frame while the first evictor's flush is still in flight, and a CPU not
// yet reached still caches the entry. A flusher records its generation
// only once its flush completed, so anyone who reads an older flushed
// generation flushes too.

import { C } from '../../../native-layout/counters.js';
import { MM_EPH_FLUSHED_GEN, MM_EPH_STALE_GEN, MM_STRIDE } from '../../../native-layout/fields.js';
import type { KernelCtx } from '../ctx.js';
import { flushTlbMm } from '../tlb/flush-mm.js';

/**
 * Some CPU of mm may from now on hold a stale ephemeral entry: called by
 * every put once its PTEs are cleared (ephmapPut, mermapPut).
 */
export function ephemeralMarkStale(k: KernelCtx, mm: number): void {
  Atomics.add(k.mm, mm * MM_STRIDE + MM_EPH_STALE_GEN, 1);
}

/** Whether mm has had an ephemeral mapping that no completed mitigation flush covers. */
export function ephemeralStale(k: KernelCtx, mm: number): boolean {
  const at = mm * MM_STRIDE;
  return Atomics.load(k.mm, at + MM_EPH_STALE_GEN) !== Atomics.load(k.mm, at + MM_EPH_FLUSHED_GEN);
}

/**
 * The mitigation flush: flush_tlb_mm(mm) if mm is stale, then record the
 * stale generation it covers. Returns whether it flushed. Needs interrupts
 * on and no lock an IPI handler takes (it waits for acknowledgements).
 */
export function mitigationFlush(k: KernelCtx, mm: number): boolean {
  const at = mm * MM_STRIDE;
  const gen = Atomics.load(k.mm, at + MM_EPH_STALE_GEN);
  if (gen === Atomics.load(k.mm, at + MM_EPH_FLUSHED_GEN)) return false;
  flushTlbMm(k, mm);
  k.counters[k.countersAt + C.mitigationFlushes] += 1;
  // Move the flushed generation forward only: a slower flusher that read
  // an older stale generation must not move it back.
  let seen = Atomics.load(k.mm, at + MM_EPH_FLUSHED_GEN);
  while ((gen - seen | 0) > 0) {
    const prev = Atomics.compareExchange(k.mm, at + MM_EPH_FLUSHED_GEN, seen, gen);
    if (prev === seen) break;
    seen = prev;
  }
  return true;
}
