// Reader-writer semaphore (kernel/locking/rwsem.c, reduced) over four Int32
// words at a[i]:
//   a[i]     count     > 0 number of readers, 0 free, -1 one writer
//   a[i + 1] writers   writers waiting for the lock (announced, not holding)
//   a[i + 2] wake      bumped by every release that can admit a waiter;
//                      waiters park on it (Atomics.wait needs one word, and
//                      readers and writers wait for different conditions)
//   a[i + 3] sleepers  waiters parked on `wake`; a release notifies only if
//                      nonzero
// Writers are preferred: while a writer waits, new readers wait too, so a
// stream of overlapping readers cannot keep count > 0 forever. The price is
// the converse: readers can wait as long as writers keep arriving (the
// kernel breaks that with a handoff bit; nothing here needs it yet).
// Like the kernel's, it is not recursive: a reader that takes it again while
// a writer waits deadlocks.

import {
  LOCK_RWSEM_READ, LOCK_RWSEM_WRITE, PARK_TIMEOUT_MS, SITE_LOCK_ACQUIRED, SITE_LOCK_RELEASE, SPIN_BEFORE_WAIT, kernelPoint, spinHook,
  traceLockSlow,
} from './hook.js';
import { WAIT_ANY, cpuCancelSleep, cpuPrepareSleep, cpuSleep, hasCpuWake, kickWaiters, wordAddr } from './wake.js';

export const RWSEM_WORDS = 4;

const WRITER = -1;
const WRITERS = 1;
const WAKE = 2;
const SLEEPERS = 3;

export function downReadTrylock(a: Int32Array, i: number): boolean {
  let c = Atomics.load(a, i);
  // Re-check for waiting writers on every retry: one may have announced
  // itself while we lost the race to another reader.
  while (c >= 0 && Atomics.load(a, i + WRITERS) === 0) {
    const seen = Atomics.compareExchange(a, i, c, c + 1);
    if (seen === c) return true;
    c = seen;
  }
  return false;
}

export function downRead(a: Int32Array, i: number): void {
  if (!downReadTrylock(a, i)) downReadSlow(a, i);
  kernelPoint(SITE_LOCK_ACQUIRED);
}

function downReadSlow(a: Int32Array, i: number): void {
  let spins = 0;
  for (;;) {
    // Sample `wake` before testing the lock: a release landing after the
    // test bumps it, and the park below then returns at once instead of
    // sleeping through the only wakeup.
    const wake = Atomics.load(a, i + WAKE);
    if (downReadTrylock(a, i)) {
      traceLockSlow(true, wordAddr(a, i), LOCK_RWSEM_READ, spins);
      return;
    }
    spinHook();
    if (++spins > SPIN_BEFORE_WAIT) rwsemPark(a, i, wake);
  }
}

export function upRead(a: Int32Array, i: number): void {
  kernelPoint(SITE_LOCK_RELEASE);
  // Only the last reader out can admit anyone: readers never wait for
  // readers, and a writer waits for count == 0.
  if (Atomics.sub(a, i, 1) === 1) rwsemWake(a, i, LOCK_RWSEM_READ);
}

export function downWriteTrylock(a: Int32Array, i: number): boolean {
  return Atomics.compareExchange(a, i, 0, WRITER) === 0;
}

export function downWrite(a: Int32Array, i: number): void {
  if (Atomics.compareExchange(a, i, 0, WRITER) !== 0) downWriteSlow(a, i);
  kernelPoint(SITE_LOCK_ACQUIRED);
}

function downWriteSlow(a: Int32Array, i: number): void {
  // Announce before waiting so readers arriving from now on queue behind
  // us; without it, readers that overlap each other keep count > 0 and
  // the writer never gets in.
  Atomics.add(a, i + WRITERS, 1);
  let spins = 0;
  for (;;) {
    const wake = Atomics.load(a, i + WAKE);
    if (Atomics.compareExchange(a, i, 0, WRITER) === 0) break;
    spinHook();
    if (++spins > SPIN_BEFORE_WAIT) rwsemPark(a, i, wake);
  }
  // Withdraw only once holding: count == -1 now keeps readers out, so
  // there is no window where neither the count nor the announcement does.
  Atomics.sub(a, i + WRITERS, 1);
  traceLockSlow(true, wordAddr(a, i), LOCK_RWSEM_WRITE, spins);
}

export function upWrite(a: Int32Array, i: number): void {
  kernelPoint(SITE_LOCK_RELEASE);
  Atomics.store(a, i, 0);
  rwsemWake(a, i, LOCK_RWSEM_WRITE);
}

/**
 * downgrade_write(): the writer keeps the lock as one reader, so readers
 * waiting for it may enter alongside (munmap zapping under the read lock
 * after taking the VMAs out under the write lock, dd2283f2605e).
 */
export function downgradeWrite(a: Int32Array, i: number): void {
  kernelPoint(SITE_LOCK_RELEASE);
  Atomics.store(a, i, 1);
  rwsemWake(a, i, LOCK_RWSEM_WRITE);
}

export function rwsemIsLocked(a: Int32Array, i: number): boolean {
  return Atomics.load(a, i) !== 0;
}

function rwsemPark(a: Int32Array, i: number, wake: number): void {
  // Count ourselves before sleeping: a release that reads sleepers == 0
  // skips the kicks, which is safe only because it bumped `wake` first
  // and our re-check (or Atomics.wait's value check) then sees it.
  Atomics.add(a, i + SLEEPERS, 1);
  if (hasCpuWake()) {
    const seen = cpuPrepareSleep(wordAddr(a, i + WAKE), WAIT_ANY);
    if (Atomics.load(a, i + WAKE) === wake) cpuSleep(seen);
    else cpuCancelSleep();
  } else {
    Atomics.wait(a, i + WAKE, wake, PARK_TIMEOUT_MS);
  }
  Atomics.sub(a, i + SLEEPERS, 1);
}

/** Admits the waiters; `kind` (LOCK_RWSEM_*) is the side that released, for the trace. */
function rwsemWake(a: Int32Array, i: number, kind: number): void {
  Atomics.add(a, i + WAKE, 1);
  // Wake everyone: readers all get in together, and which waiter can
  // proceed (a writer, or readers once no writer waits) is theirs to sort
  // out on the count word.
  if (Atomics.load(a, i + SLEEPERS) !== 0) {
    traceLockSlow(false, wordAddr(a, i), kind, 0);
    kickWaiters(wordAddr(a, i + WAKE), WAIT_ANY, Infinity);
    Atomics.notify(a, i + WAKE);
  }
}
