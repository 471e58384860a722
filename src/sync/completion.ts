// Completion (kernel/sched/completion.c) over two Int32 words at a[i]:
//   a[i]      done: completions not yet consumed; COMPLETE_ALL after
//             completeAll, which every wait consumes without decrementing
//   a[i + 1]  waiters parked on `done`; complete() notifies only if nonzero
// Waiters park on `done` itself while it is 0, so the wait's own value check
// closes the window between "saw 0" and "went to sleep".

import { PARK_TIMEOUT_MS, SPIN_BEFORE_WAIT, spinHook } from './hook.js';
import { WAIT_ANY, cpuCancelSleep, cpuPrepareSleep, cpuSleepFor, hasCpuWake, kickWaiters, wordAddr } from './wake.js';

export const COMPLETION_WORDS = 2;

/** The kernel's UINT_MAX: sticky, survives any number of waits. */
const COMPLETE_ALL = 0x7fffffff;
const WAITERS = 1;

export function initCompletion(a: Int32Array, i: number): void {
  Atomics.store(a, i, 0);
  Atomics.store(a, i + WAITERS, 0);
}

/** Releases one waiter, now or the next one to arrive. */
export function complete(a: Int32Array, i: number): void {
  let c = Atomics.load(a, i);
  // A CAS loop rather than Atomics.add: after completeAll the count must
  // stay at COMPLETE_ALL (kernel: `if (x->done != UINT_MAX) x->done++`),
  // and an add would also overflow into negative after 2^31 completions.
  while (c !== COMPLETE_ALL) {
    const seen = Atomics.compareExchange(a, i, c, c + 1);
    if (seen === c) break;
    c = seen;
  }
  // One completion admits one waiter; waking more only makes the rest
  // lose the race for it and park again.
  if (Atomics.load(a, i + WAITERS) !== 0) {
    kickWaiters(wordAddr(a, i), WAIT_ANY, 1);
    Atomics.notify(a, i, 1);
  }
}

/** Releases every waiter, present and future, until initCompletion. */
export function completeAll(a: Int32Array, i: number): void {
  Atomics.store(a, i, COMPLETE_ALL);
  if (Atomics.load(a, i + WAITERS) !== 0) {
    kickWaiters(wordAddr(a, i), WAIT_ANY, Infinity);
    Atomics.notify(a, i);
  }
}

/** Consumes a completion if one is pending (try_wait_for_completion). */
export function tryWaitForCompletion(a: Int32Array, i: number): boolean {
  let c = Atomics.load(a, i);
  while (c !== 0) {
    if (c === COMPLETE_ALL) return true;
    const seen = Atomics.compareExchange(a, i, c, c - 1);
    if (seen === c) return true;
    c = seen;
  }
  return false;
}

/**
 * Waits for and consumes one completion. With timeoutMs >= 0 gives up after
 * that long and returns false (wait_for_completion_timeout); without it,
 * waits forever and returns true.
 */
export function waitForCompletion(a: Int32Array, i: number, timeoutMs = -1): boolean {
  if (tryWaitForCompletion(a, i)) return true;
  return waitForCompletionSlow(a, i, timeoutMs);
}

function waitForCompletionSlow(a: Int32Array, i: number, timeoutMs: number): boolean {
  const deadline = timeoutMs >= 0 ? performance.now() + timeoutMs : Infinity;
  let spins = 0;
  for (;;) {
    spinHook();
    if (++spins > SPIN_BEFORE_WAIT) {
      const left = deadline - performance.now();
      // One last try before reporting a timeout: complete() may have
      // landed after our previous check, and it notified one waiter only,
      // possibly us; the others would take up to a park period to notice.
      if (left <= 0) return tryWaitForCompletion(a, i);
      Atomics.add(a, i + WAITERS, 1);
      if (hasCpuWake()) {
        // A CPU sleeps on its wake word (an IPI rings it too) until
        // complete() kicks it or the timeout, if any, runs out.
        const seen = cpuPrepareSleep(wordAddr(a, i), WAIT_ANY);
        if (Atomics.load(a, i) === 0) cpuSleepFor(seen, left);
        else cpuCancelSleep();
      } else {
        Atomics.wait(a, i, 0, left < PARK_TIMEOUT_MS ? left : PARK_TIMEOUT_MS);
      }
      Atomics.sub(a, i + WAITERS, 1);
    }
    if (tryWaitForCompletion(a, i)) return true;
  }
}

export function completionDone(a: Int32Array, i: number): boolean {
  return Atomics.load(a, i) !== 0;
}
