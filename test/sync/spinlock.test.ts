import { describe, expect, it } from 'vitest';
import { SPINLOCK_WORDS, SPIN_PENDING, spinIsLocked, spinLock, spinQueued, spinTrylock, spinUnlock } from '../../src/sync/index.js';
import { runAll } from './workers.js';

const LOCK = 0;
const TAIL = 1;
const HEAD = 2;

function words(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * SPINLOCK_WORDS));
}

describe('queued spinlock (paravirt qspinlock shape)', () => {
  it('trylock fails while the lock is held and succeeds after unlock', () => {
    const a = words();
    expect(spinTrylock(a, 0)).toBe(true);
    expect(spinIsLocked(a, 0)).toBe(true);
    expect(spinTrylock(a, 0)).toBe(false);
    spinUnlock(a, 0);
    expect(spinIsLocked(a, 0)).toBe(false);
    expect(spinTrylock(a, 0)).toBe(true);
    spinUnlock(a, 0);
  });

  it('a free lock may be stolen past queued waiters until the queue head sets pending', () => {
    const a = words();
    spinLock(a, 0);
    // Two CPUs queue behind the holder: the queued path's first step, by hand.
    expect([Atomics.add(a, TAIL, 1), Atomics.add(a, TAIL, 1)]).toEqual([0, 1]);
    expect(spinQueued(a, 0)).toBe(2);
    spinUnlock(a, 0);
    // Free, no pending: a newcomer takes it (pv_hybrid_queued_unfair_trylock).
    expect(spinTrylock(a, 0)).toBe(true);
    spinUnlock(a, 0);
    // The head has spun long enough and set pending: the handoff is its own.
    Atomics.or(a, LOCK, SPIN_PENDING);
    expect(spinTrylock(a, 0)).toBe(false);
    expect(spinIsLocked(a, 0)).toBe(false);
  });

  it('queued waiters get the lock in arrival order (FIFO among the queue)', async () => {
    // The main thread holds the lock while 3 workers queue one after the
    // other; each records its place when it gets the lock.
    const a = new Int32Array(new SharedArrayBuffer(4 * 16));
    spinLock(a, 0);
    const order = new URL('../workers/sync-lock-order.mjs', import.meta.url);
    const runs = [];
    for (let w = 0; w < 3; w++) {
      const r = runAll(order, [{ sab: a.buffer, me: w + 1 }]);
      runs.push(r);
      // Wait until this worker is queued before starting the next one.
      while (Atomics.load(a, TAIL) < w + 1) await new Promise((res) => setTimeout(res, 2));
    }
    spinUnlock(a, 0);
    await Promise.all(runs);
    expect([a[8], a[9], a[10]]).toEqual([1, 2, 3]);
    expect(spinIsLocked(a, 0)).toBe(false);
    expect(a[HEAD]).toBe(a[TAIL]);
  });

  it('4 workers x 100,000 plain increments under the lock sum to exactly 400,000', async () => {
    const a = new Int32Array(new SharedArrayBuffer(4 * 8));
    const data = { sab: a.buffer, kind: 'spin', iters: 100_000, lock: 0, counter: 4, barrier: 5, workers: 4 };
    await runAll(new URL('../workers/sync-lock-counter.mjs', import.meta.url), [data, data, data, data]);
    expect(a[4]).toBe(400_000);
    expect(spinIsLocked(a, 0)).toBe(false);
  });
});
