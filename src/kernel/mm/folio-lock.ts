// The folio lock of page-cache pages (PG_locked: include/linux/pagemap.h
// folio_lock() / folio_trylock() / folio_unlock(), mm/filemap.c
// __folio_lock_or_retry()), reduced to the two users that need it here:
//
// - a fault on a file page finds the page and locks it before it takes the
//   PTE lock, and unlocks it once the PTE is set (filemap_fault() returns
//   the folio locked, finish_fault() maps it, do_shared_fault() /
//   do_read_fault() unlock it);
// - reclaim trylocks each page it scans and holds the lock from its rmap
//   walk until the writeback is done (mm/vmscan.c shrink_folio_list():
//   `if (!folio_trylock(folio)) goto keep;`, pageout() unlocks once the
//   write is issued).
//
// What it closes: reclaim's rmap walk finds the page mapped nowhere, and
// that answer must stay true until the page is written back and marked
// clean. Without the lock, a fault can map the page right after the walk
// passed that mm; the task writes through the new PTE; a MADV_DONTNEED
// zap clears it (dirty: the page is marked dirty) and sends its flush,
// whose IPI the writer has not taken yet; reclaim, done walking, writes
// the page back (clean); the writer stores once more through its TLB entry
// and only then acks; reclaim evicts the page as clean, and that last
// store is gone (seen as the `readback` of shared-file-writeback
// --option verifyBefore=1). Linux's reclaim cannot meet a page mapped
// behind its back because the fault needs the folio lock reclaim holds;
// and a PTE being zapped while reclaim walks is met under the PTE lock (the
// zap flushes a dirty shared PTE before dropping it: 1cf35d47712d), which
// 5df397dec7c4 made hold for mapcount-based reclaim too by keeping the page
// in the rmap until that flush.
//
// Not modelled: truncation and compaction (asi/compact.ts) take no folio
// lock here; they keep their own protocol (slot lock, refcount freeze,
// the second unmap pass of truncate.ts), which the fault's recheck of the
// slot under the PTE lock still meets.
//
// The lock word is per page-cache slot (file, index) rather than per frame:
// a slot holds one page at a time, and every holder checks, once it has
// the lock, that the slot still holds the page it meant (as Linux checks
// folio->mapping after folio_lock()), so this is the folio lock of
// whichever page the slot holds, at most a little stricter.

import { FILE_FOLIO_LOCK, FILE_MAX, FILE_NR_PAGES, FILE_STRIDE } from '../../../native-layout/fields.js';
import { mutexIsLocked, mutexLock, mutexTrylock, mutexUnlock } from '../../sync/mutex.js';
import type { KernelCtx } from '../ctx.js';

export class FolioLockError extends Error {
  override name = 'FolioLockError';
}

function lockAt(file: number, index: number): number {
  if (!(Number.isInteger(file) && Number.isInteger(index) && file >= 0 && file < FILE_MAX && index >= 0 && index < FILE_NR_PAGES)) {
    throw new FolioLockError(`file ${file} page ${index} has no folio lock (${FILE_MAX} files of ${FILE_NR_PAGES} pages)`);
  }
  return file * FILE_STRIDE + FILE_FOLIO_LOCK + index;
}

/** folio_trylock() on the page cached at (file, index): true if taken. Never waits. */
export function folioTrylock(k: KernelCtx, file: number, index: number): boolean {
  return mutexTrylock(k.views.file, lockAt(file, index));
}

/** folio_unlock(): wakes a fault waiting in folioWaitLocked. */
export function folioUnlock(k: KernelCtx, file: number, index: number): void {
  mutexUnlock(k.views.file, lockAt(file, index));
}

/** folio_test_locked() (checks and tests). */
export function folioTestLocked(k: KernelCtx, file: number, index: number): boolean {
  return mutexIsLocked(k.views.file, lockAt(file, index));
}

/**
 * folio_wait_locked(): waits until whoever holds the lock of (file, index)
 * drops it, without keeping it. The faulting task calls it with nothing
 * held (no mmap_lock, no PTE lock, no page reference), as
 * __folio_lock_or_retry() drops mmap_lock before it sleeps and the fault
 * is retried from the top (VM_FAULT_RETRY): reclaim, holding the lock, may
 * need that task's CPU to take a flush IPI or a PTE lock before it lets go.
 */
export function folioWaitLocked(k: KernelCtx, file: number, index: number): void {
  const at = lockAt(file, index);
  mutexLock(k.views.file, at);
  mutexUnlock(k.views.file, at);
}
