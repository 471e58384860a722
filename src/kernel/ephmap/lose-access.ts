// The events where a process loses logical access to page-cache frames,
// with the mitigation flush each one needs (mitigation.ts): eviction of a
// cached page, and the last close of the file. "Logical access" = the
// process could legitimately read() the contents; once it cannot, a
// translation of its mm-local region to the frame, cached speculatively by
// any CPU running it, is a leak (check/ephemeral-audit.ts looks for one
// right after the flush, before the frame can change hands).
//
// The open file is modelled as one reference count per mm (struct file
// f_count, one file per process): the descriptor holds one, every read()
// in flight holds one (fdget), and the drop that reaches zero runs the
// release, that is the last close. A read cannot overlap the release: fget
// refuses once the count reached zero (-1 marks a release in progress).

import { FILE_NR_PAGES, MM_LOCAL_REGION, MM_OPEN_REFS, MM_STATE, MM_STRIDE } from '../../../native-layout/fields.js';
import { MM_LIVE } from '../../../native-layout/bits.js';
import { BUG, injected } from '../../check/bugs.js';
import { auditEphemeralLeak } from '../../check/ephemeral-audit.js';
import type { KernelCtx } from '../ctx.js';
import { findFilePage, findGetPage, removeMappingFrozen } from '../mm/filemap.js';
import { putPage } from '../mm/page-ref.js';
import { SITE_PAGE_FREE, kernelPoint } from '../points.js';

const BUG_NO_FLUSH_ON_EVICT = BUG['no-mitigation-flush-on-evict']!;
const BUG_NO_FLUSH_ON_CLOSE = BUG['no-mitigation-flush-on-close']!;
/** References an evictor expects on an unmapped cached page: the cache's and its own lookup's. */
const EVICT_REFS = 2;

/** open(): the descriptor's reference, if the file is closed. Returns whether it opened it. */
export function fileOpen(k: KernelCtx, mm: number): boolean {
  return Atomics.compareExchange(k.mm, mm * MM_STRIDE + MM_OPEN_REFS, 0, 1) === 0;
}

/** fget(): a reference for a read in flight, or false if the file is closed (or closing). */
export function fileGet(k: KernelCtx, mm: number): boolean {
  const at = mm * MM_STRIDE + MM_OPEN_REFS;
  let r = Atomics.load(k.mm, at);
  while (r > 0) {
    const seen = Atomics.compareExchange(k.mm, at, r, r + 1);
    if (seen === r) return true;
    r = seen;
  }
  return false;
}

/** fput(): drops a reference; the last one runs the release (lastClose) for `file`. */
export function filePut(k: KernelCtx, mm: number, file: number): void {
  const at = mm * MM_STRIDE + MM_OPEN_REFS;
  let r = Atomics.load(k.mm, at);
  for (;;) {
    if (r <= 0) throw new Error(`mm ${mm}: fput with f_count ${r}`);
    const next = r === 1 ? -1 : r - 1;
    const seen = Atomics.compareExchange(k.mm, at, r, next);
    if (seen === r) break;
    r = seen;
  }
  if (r !== 1) return;
  lastClose(k, mm, file);
  Atomics.store(k.mm, at, 0);
}

/**
 * The release of the last reference: the process loses access to every
 * cached page of the file. The mitigation flush (skipped by
 * no-mitigation-flush-on-close) must leave no CPU of the mm translating
 * one of them through the mm-local region.
 */
function lastClose(k: KernelCtx, mm: number, file: number): void {
  if (injected[BUG_NO_FLUSH_ON_CLOSE] === 0) k.ephemeralMap.loseAccess(k, mm);
  const cache = k.views.file;
  for (let i = 0; i < FILE_NR_PAGES; i++) {
    const pfn = findFilePage(cache, file, i);
    if (pfn >= 0 && auditEphemeralLeak(k, mm, pfn)) return;
  }
}


/**
 * Evicts the cached page (file, index) if nobody but the cache uses it
 * (__remove_mapping's refcount freeze; the page is never mmapped in the
 * scenarios that call this, so no rmap walk is needed), then, before the
 * frame goes back to the allocator, the mitigation flush of every process
 * that has the file open (skipped by no-mitigation-flush-on-evict) and the
 * isolation audit of every process with an mm-local region. Returns
 * whether it evicted. Task context, interrupts on, no lock held.
 */
export function evictCachePage(k: KernelCtx, file: number, index: number): boolean {
  const pfn = findGetPage(k, file, index);
  if (pfn < 0) return false;
  if (!removeMappingFrozen(k, file, index, pfn, EVICT_REFS)) {
    putPage(k, pfn);
    return false;
  }
  const m = k.mm;
  for (let mm = 1; mm < k.maxMms; mm++) {
    const at = mm * MM_STRIDE;
    if (Atomics.load(m, at + MM_STATE) !== MM_LIVE || m[at + MM_LOCAL_REGION] === 0) continue;
    if (Atomics.load(m, at + MM_OPEN_REFS) !== 0 && injected[BUG_NO_FLUSH_ON_EVICT] === 0) k.ephemeralMap.loseAccess(k, mm);
  }
  for (let mm = 1; mm < k.maxMms; mm++) {
    const at = mm * MM_STRIDE;
    if (Atomics.load(m, at + MM_STATE) !== MM_LIVE || m[at + MM_LOCAL_REGION] === 0) continue;
    if (auditEphemeralLeak(k, mm, pfn)) break;
  }
  kernelPoint(SITE_PAGE_FREE);
  k.alloc.freePages(k.cpu, pfn, 0);
  return true;
}
