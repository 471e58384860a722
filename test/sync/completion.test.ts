import { describe, expect, it } from 'vitest';
import {
  COMPLETION_WORDS,
  complete,
  completeAll,
  completionDone,
  initCompletion,
  tryWaitForCompletion,
  waitForCompletion,
} from '../../src/sync/index.js';
import { sleep, spawn, until } from './workers.js';

const WAITERS = 1;
const op = new URL('../workers/sync-op.mjs', import.meta.url);

function completion(): Int32Array {
  const a = new Int32Array(new SharedArrayBuffer(4 * COMPLETION_WORDS));
  initCompletion(a, 0);
  return a;
}

describe('completion', () => {
  it('each complete() is consumed by exactly one wait; completeAll() satisfies every wait', () => {
    const a = completion();
    expect(tryWaitForCompletion(a, 0)).toBe(false);
    complete(a, 0);
    complete(a, 0);
    expect(completionDone(a, 0)).toBe(true);
    expect(waitForCompletion(a, 0)).toBe(true);
    expect(tryWaitForCompletion(a, 0)).toBe(true);
    expect(tryWaitForCompletion(a, 0)).toBe(false);
    completeAll(a, 0);
    complete(a, 0);
    for (let n = 0; n < 5; n++) expect(tryWaitForCompletion(a, 0)).toBe(true);
    initCompletion(a, 0);
    expect(completionDone(a, 0)).toBe(false);
  });

  it('waitForCompletion with a timeout returns false when nobody completes', () => {
    const a = completion();
    const t0 = performance.now();
    expect(waitForCompletion(a, 0, 30)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
    expect(a[WAITERS]).toBe(0);
  });

  it('a worker parked in waitForCompletion wakes when the main thread completes', async () => {
    const a = completion();
    const w = spawn(op, { sab: a.buffer, op: 'waitForCompletion', index: 0 });
    await until(() => Atomics.load(a, WAITERS) > 0);
    complete(a, 0);
    await expect(w.finished).resolves.toMatchObject({ result: true });
    expect(completionDone(a, 0)).toBe(false);
  });

  it('complete() releases one of two waiters, completeAll() the other', async () => {
    const a = completion();
    const w1 = spawn(op, { sab: a.buffer, op: 'waitForCompletion', index: 0 });
    const w2 = spawn(op, { sab: a.buffer, op: 'waitForCompletion', index: 0 });
    let finished = 0;
    for (const w of [w1, w2]) void w.finished.then(() => finished++);
    await until(() => Atomics.load(a, WAITERS) === 2);
    complete(a, 0);
    await until(() => finished === 1);
    // The other cannot have been released: nothing is left to consume.
    await sleep(50);
    expect(finished).toBe(1);
    completeAll(a, 0);
    await Promise.all([w1.finished, w2.finished]);
  });
});
