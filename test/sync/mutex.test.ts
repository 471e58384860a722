import { describe, expect, it } from 'vitest';
import { mutexIsLocked, mutexLock, mutexTrylock, mutexUnlock } from '../../src/sync/index.js';
import { runAll, spawn, until } from './workers.js';

describe('futex mutex', () => {
  it('is 1 while held without waiters, trylock fails while held and succeeds after unlock', () => {
    const a = new Int32Array(new SharedArrayBuffer(4));
    mutexLock(a, 0);
    expect(a[0]).toBe(1);
    expect(mutexTrylock(a, 0)).toBe(false);
    mutexUnlock(a, 0);
    expect(a[0]).toBe(0);
    expect(mutexTrylock(a, 0)).toBe(true);
    expect(mutexIsLocked(a, 0)).toBe(true);
    mutexUnlock(a, 0);
    expect(mutexIsLocked(a, 0)).toBe(false);
  });

  it('a blocked locker marks the mutex contended (2) and unlock hands the lock to it', async () => {
    const a = new Int32Array(new SharedArrayBuffer(4));
    mutexLock(a, 0);
    const w = spawn(new URL('../workers/sync-op.mjs', import.meta.url), { sab: a.buffer, op: 'mutexLock', index: 0 });
    await until(() => Atomics.load(a, 0) === 2);
    mutexUnlock(a, 0);
    await expect(w.finished).resolves.toMatchObject({ result: true });
    // The waiter took it as 2 (it cannot know it was the last) and its own
    // unlock released it fully.
    expect(a[0]).toBe(0);
  });

  it('4 workers x 100,000 plain increments under the mutex sum to exactly 400,000', async () => {
    const a = new Int32Array(new SharedArrayBuffer(4 * 8));
    const data = { sab: a.buffer, kind: 'mutex', iters: 100_000, lock: 0, counter: 4, barrier: 5, workers: 4 };
    await runAll(new URL('../workers/sync-lock-counter.mjs', import.meta.url), [data, data, data, data]);
    expect(a[4]).toBe(400_000);
    expect(mutexIsLocked(a, 0)).toBe(false);
  });
});
