// Futex mutex over one Int32 word at a[i], the three-state scheme of Ulrich
// Drepper's "Futexes Are Tricky" (mutex3) that glibc's lowlevellock follows:
//   0  free
//   1  locked, nobody parked
//   2  locked, someone may be parked (unlock must notify)
// Unlike the ticket spinlock this is not FIFO; in exchange, with more
// simulated CPUs than host cores, a woken or freshly arriving locker takes
// the lock at once instead of waiting for one particular (maybe descheduled)
// ticket holder.

import {
  LOCK_MUTEX, PARK_TIMEOUT_MS, SITE_LOCK_ACQUIRED, SITE_LOCK_RELEASE, SPIN_BEFORE_WAIT, kernelPoint, spinHook, traceLockSlow,
} from './hook.js';
import { WAIT_ANY, cpuCancelSleep, cpuPrepareSleep, cpuSleep, hasCpuWake, kickWaiters, wordAddr } from './wake.js';

export const MUTEX_WORDS = 1;

const FREE = 0;
const LOCKED = 1;
const CONTENDED = 2;

export function mutexLock(a: Int32Array, i: number): void {
  if (Atomics.compareExchange(a, i, FREE, LOCKED) !== FREE) traceLockSlow(true, wordAddr(a, i), LOCK_MUTEX, mutexLockSlow(a, i));
  kernelPoint(SITE_LOCK_ACQUIRED);
}

/** The contended path; returns how many turns it waited. */
function mutexLockSlow(a: Int32Array, i: number): number {
  // Spin first, only ever trying 0 -> 1: a spinner must not write 2, or a
  // lock that never had a sleeper would make every unlock pay a notify.
  let spins = 0;
  for (; spins < SPIN_BEFORE_WAIT; spins++) {
    spinHook();
    if (Atomics.load(a, i) === FREE && Atomics.compareExchange(a, i, FREE, LOCKED) === FREE) return spins + 1;
  }
  // From here every acquisition writes 2, never 1: we cannot know whether
  // other lockers are still parked, and taking the lock as 1 would let our
  // unlock skip the notify they need (they would sleep until their park
  // timeout; with a plain futex, forever). A spurious 2 costs one useless
  // notify, nothing more.
  let c = Atomics.exchange(a, i, CONTENDED);
  while (c !== FREE) {
    spinHook();
    // Sleep only while the word is still 2: an unlock in between changes
    // it, and then the re-check (CPU wake word) or Atomics.wait's own value
    // check (plain threads) returns at once. A CPU sleeps on its wake word,
    // so an IPI to it still gets answered.
    if (hasCpuWake()) {
      const seen = cpuPrepareSleep(wordAddr(a, i), WAIT_ANY);
      if (Atomics.load(a, i) === CONTENDED) cpuSleep(seen);
      else cpuCancelSleep();
    } else {
      Atomics.wait(a, i, CONTENDED, PARK_TIMEOUT_MS);
    }
    spins++;
    c = Atomics.exchange(a, i, CONTENDED);
  }
  return spins;
}

export function mutexTrylock(a: Int32Array, i: number): boolean {
  return Atomics.compareExchange(a, i, FREE, LOCKED) === FREE;
}

export function mutexUnlock(a: Int32Array, i: number): void {
  kernelPoint(SITE_LOCK_RELEASE);
  // Release with one atomic exchange: reading the state and then storing 0
  // would miss a locker that turned 1 into 2 between the two and parked.
  if (Atomics.exchange(a, i, FREE) === CONTENDED) {
    traceLockSlow(false, wordAddr(a, i), LOCK_MUTEX, 0);
    // One waiter: it takes the lock as 2, so its own unlock wakes the next.
    kickWaiters(wordAddr(a, i), WAIT_ANY, 1);
    Atomics.notify(a, i, 1);
  }
}

export function mutexIsLocked(a: Int32Array, i: number): boolean {
  return Atomics.load(a, i) !== FREE;
}
