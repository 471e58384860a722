// Spinlock over three Int32 words at a[i]: a queued lock in the shape of the
// kernel's paravirt qspinlock, for CPUs that, like vCPUs on a busy host,
// outnumber the cores they run on.
//   a[i]      lock word: bit 0 locked, bit 1 pending (the queue head asks
//             for the next handoff: no more lock stealing)
//   a[i + 1]  queue tail: the next queue ticket to hand out
//   a[i + 2]  queue head: the ticket of the waiter now first in line
//
// Why not a plain FIFO ticket lock: when the waiter whose turn it is has no
// host core, every CPU behind it waits for the host scheduler too, and each
// handoff costs a context switch (the lock-waiter preemption convoy; with
// 16 CPUs on 2 cores the zone lock ran ~4k acquisitions a second). Linux
// running as a guest answers this in kernel/locking/qspinlock_paravirt.h:
// waiters queue in FIFO order, but while the queue head has not set the
// pending bit a CPU that arrives while the lock is free may take it at once
// (pv_hybrid_queued_unfair_trylock, "lock stealing"), and the queue head
// that has spun for a while sets pending and halts until the unlocker kicks
// it (pv_wait_head_or_lock / pv_kick). Stealing is bounded: once pending is
// set the next handoff is the head's. Queued waiters stay FIFO among
// themselves, like the MCS queue.
//
// Sleeping goes through src/sync/wake.ts: a waiter publishes what it waits
// for and halts on its CPU wake word, which an IPI rings too, so a waiter
// with interrupts on keeps answering shootdowns while it sleeps.

import {
  LOCK_SPIN, PARK_TIMEOUT_MS, SITE_LOCK_ACQUIRED, SITE_LOCK_RELEASE, SPIN_BEFORE_WAIT, kernelPoint, spinHook, traceLockSlow,
} from './hook.js';
import { WAIT_ANY, cpuCancelSleep, cpuPrepareSleep, cpuSleep, hasCpuWake, kickWaiters, wordAddr } from './wake.js';

export const SPINLOCK_WORDS = 3;

const LOCK = 0;
const TAIL = 1;
const HEAD = 2;
export const SPIN_LOCKED = 1;
export const SPIN_PENDING = 2;

export function spinLock(a: Int32Array, i: number): void {
  // Steal when free and nobody set pending: no queueing, no handoff.
  if (Atomics.compareExchange(a, i + LOCK, 0, SPIN_LOCKED) !== 0) spinLockQueued(a, i);
  kernelPoint(SITE_LOCK_ACQUIRED);
}

function spinLockQueued(a: Int32Array, i: number): void {
  const ticket = Atomics.add(a, i + TAIL, 1);
  // Wait to be first in line. Each queued waiter waits for its own ticket,
  // so the one leaving the head kicks exactly its successor.
  let spins = 0;
  while (Atomics.load(a, i + HEAD) !== ticket) {
    spinHook();
    if (++spins > SPIN_BEFORE_WAIT) sleepWhileEquals(a, i + HEAD, Atomics.load(a, i + HEAD), ticket, ticket);
  }
  let waited = spins;
  // First in line: compete for the lock word (stealers may still win)
  // until we have spun long enough, then set pending and halt.
  spins = 0;
  for (;;) {
    const v = Atomics.load(a, i + LOCK);
    // Taking the lock writes LOCKED alone, which also clears our pending.
    if ((v & SPIN_LOCKED) === 0 && Atomics.compareExchange(a, i + LOCK, v, SPIN_LOCKED) === v) break;
    spinHook();
    waited++;
    if (++spins > SPIN_BEFORE_WAIT) {
      if ((v & SPIN_PENDING) === 0) Atomics.or(a, i + LOCK, SPIN_PENDING);
      const now = Atomics.load(a, i + LOCK);
      if ((now & SPIN_LOCKED) !== 0) sleepWhileEquals(a, i + LOCK, now, WAIT_ANY, -1);
    }
  }
  // Hand the head of the queue to the next ticket, and wake it if it sleeps.
  // Order: the lock is ours before the successor may start competing.
  Atomics.store(a, i + HEAD, ticket + 1);
  if (Atomics.load(a, i + TAIL) !== ((ticket + 1) | 0)) {
    kickWaiters(wordAddr(a, i + HEAD), (ticket + 1) | 0, 1);
    Atomics.notify(a, i + HEAD);
  }
  traceLockSlow(true, wordAddr(a, i), LOCK_SPIN, waited);
}

/**
 * Halts while a[w] still reads `seen`. A CPU sleeps on its wake word for
 * (a[w], val); other threads park on a[w] itself for a millisecond.
 */
function sleepWhileEquals(a: Int32Array, w: number, seen: number, val: number, _ticket: number): void {
  if (hasCpuWake()) {
    const bell = cpuPrepareSleep(wordAddr(a, w), val);
    if (Atomics.load(a, w) === seen) cpuSleep(bell);
    else cpuCancelSleep();
  } else {
    Atomics.wait(a, w, seen, PARK_TIMEOUT_MS);
  }
}

/** Takes the lock only if it is free and no queue head asked for it (spin_trylock). */
export function spinTrylock(a: Int32Array, i: number): boolean {
  if (Atomics.compareExchange(a, i + LOCK, 0, SPIN_LOCKED) !== 0) return false;
  kernelPoint(SITE_LOCK_ACQUIRED);
  return true;
}

export function spinUnlock(a: Int32Array, i: number): void {
  kernelPoint(SITE_LOCK_RELEASE);
  // Clear locked, keep pending: a set pending reserves this handoff for
  // the queue head, which the kick below wakes (pv_kick).
  Atomics.and(a, i + LOCK, ~SPIN_LOCKED);
  // Anyone queued? Plain loads: Atomics.load is a builtin call in V8 11,
  // and Atomics.load was 7.8% of an order-0 alloc+free profile. The
  // missed wake-up they must not cause: only the queue head sleeps on
  // LOCK, and only after setting PENDING there with a locked RMW, which
  // also keeps stealers off the lock. So if it sleeps, our `and` comes
  // after its RMW on the same word, its ticket's add on TAIL came before
  // that, and our loads come after our locked op (x86 does not move a load
  // above one, the JS memory model orders them after a seq-cst RMW read of
  // that word, and V8 keeps typed-array loads below a call): they see it.
  if (a[i + TAIL] !== a[i + HEAD]) {
    traceLockSlow(false, wordAddr(a, i), LOCK_SPIN, 0);
    kickWaiters(wordAddr(a, i + LOCK), WAIT_ANY, 1);
    Atomics.notify(a, i + LOCK);
  }
}

export function spinIsLocked(a: Int32Array, i: number): boolean {
  return (Atomics.load(a, i + LOCK) & SPIN_LOCKED) !== 0;
}

/** Waiters queued behind the lock (for tests and state dumps). */
export function spinQueued(a: Int32Array, i: number): number {
  return (Atomics.load(a, i + TAIL) - Atomics.load(a, i + HEAD)) | 0;
}
