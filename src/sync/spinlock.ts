// Ticket spinlock over three Int32 words at a[i]: next ticket, owner (the
// ticket being served), waiters (parked in Atomics.wait). FIFO like the
// kernel's old ticket locks, so no CPU starves under contention.

import { PARK_TIMEOUT_MS, SITE_LOCK_ACQUIRED, SITE_LOCK_RELEASE, SPIN_BEFORE_WAIT, kernelPoint, spinHook } from './hook.js';

export const SPINLOCK_WORDS = 3;

export function spinLock(a: Int32Array, i: number): void {
  const ticket = Atomics.add(a, i, 1);
  let owner = Atomics.load(a, i + 1);
  if (owner === ticket) {
    kernelPoint(SITE_LOCK_ACQUIRED);
    return;
  }
  let spins = 0;
  while (owner !== ticket) {
    spinHook();
    if (++spins > SPIN_BEFORE_WAIT) {
      // Park until the owner word moves. The waiter count lets unlock skip
      // the notify when nobody sleeps (the common, uncontended case).
      Atomics.add(a, i + 2, 1);
      Atomics.wait(a, i + 1, owner, PARK_TIMEOUT_MS);
      Atomics.sub(a, i + 2, 1);
    }
    owner = Atomics.load(a, i + 1);
  }
  kernelPoint(SITE_LOCK_ACQUIRED);
}

/** Takes the lock only if nobody holds or waits for it (spin_trylock). */
export function spinTrylock(a: Int32Array, i: number): boolean {
  const owner = Atomics.load(a, i + 1);
  return Atomics.compareExchange(a, i, owner, owner + 1) === owner;
}

export function spinUnlock(a: Int32Array, i: number): void {
  kernelPoint(SITE_LOCK_RELEASE);
  Atomics.add(a, i + 1, 1);
  // Ticket order: the next owner may be parked; wake all waiters of this
  // word and let the one whose ticket matches proceed.
  if (Atomics.load(a, i + 2) !== 0) Atomics.notify(a, i + 1);
}

export function spinIsLocked(a: Int32Array, i: number): boolean {
  return Atomics.load(a, i) !== Atomics.load(a, i + 1);
}
