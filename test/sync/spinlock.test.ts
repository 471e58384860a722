import { describe, expect, it } from 'vitest';
import { SPINLOCK_WORDS, spinIsLocked, spinLock, spinTrylock, spinUnlock } from '../../src/sync/index.js';
import { runAll } from './workers.js';

const NEXT = 0;
const OWNER = 1;

function words(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * SPINLOCK_WORDS));
}

describe('ticket spinlock', () => {
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

  it('serves tickets in the order they were taken (FIFO), visible in the next/owner words', () => {
    const a = words();
    spinLock(a, 0);
    expect([a[NEXT], a[OWNER]]).toEqual([1, 0]);
    // Two CPUs queue behind the holder: spinLock's first step, done by hand.
    const second = Atomics.add(a, NEXT, 1);
    const third = Atomics.add(a, NEXT, 1);
    expect([second, third]).toEqual([1, 2]);
    // A trylock cannot jump the queue even between two holders.
    spinUnlock(a, 0);
    expect(a[OWNER]).toBe(second);
    expect(spinTrylock(a, 0)).toBe(false);
    spinUnlock(a, 0);
    expect(a[OWNER]).toBe(third);
    spinUnlock(a, 0);
    expect(spinIsLocked(a, 0)).toBe(false);
  });

  it('keeps working when the ticket counters wrap past 2^31', () => {
    const a = words();
    a[NEXT] = 0x7fffffff;
    a[OWNER] = 0x7fffffff;
    spinLock(a, 0);
    expect(spinTrylock(a, 0)).toBe(false);
    spinUnlock(a, 0);
    expect([a[NEXT], a[OWNER]]).toEqual([-0x80000000, -0x80000000]);
    expect(spinTrylock(a, 0)).toBe(true);
    spinUnlock(a, 0);
    expect(spinIsLocked(a, 0)).toBe(false);
  });

  it('4 workers x 100,000 plain increments under the lock sum to exactly 400,000', async () => {
    const a = new Int32Array(new SharedArrayBuffer(4 * 8));
    const data = { sab: a.buffer, kind: 'spin', iters: 100_000, lock: 0, counter: 4, barrier: 5, workers: 4 };
    await runAll(new URL('../workers/sync-lock-counter.mjs', import.meta.url), [data, data, data, data]);
    expect(a[4]).toBe(400_000);
    expect(spinIsLocked(a, 0)).toBe(false);
  });
});
