import { describe, expect, it } from 'vitest';
import {
  RWSEM_WORDS,
  downRead,
  downReadTrylock,
  downWrite,
  downWriteTrylock,
  rwsemIsLocked,
  upRead,
  upWrite,
} from '../../src/sync/index.js';
import { runAll, spawn, until } from './workers.js';
import { IPI_STRIDE, IPI_WAIT_ADDR } from '../../native-layout/fields.js';

const COUNT = 0;
const WRITERS = 1;
const op = new URL('../workers/sync-op.mjs', import.meta.url);

function sem(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * RWSEM_WORDS));
}

describe('rwsem', () => {
  it('readers share it, a writer excludes readers and other writers', () => {
    const a = sem();
    downRead(a, 0);
    expect(downReadTrylock(a, 0)).toBe(true);
    expect(a[COUNT]).toBe(2);
    expect(downWriteTrylock(a, 0)).toBe(false);
    upRead(a, 0);
    upRead(a, 0);
    expect(rwsemIsLocked(a, 0)).toBe(false);

    downWrite(a, 0);
    expect(downReadTrylock(a, 0)).toBe(false);
    expect(downWriteTrylock(a, 0)).toBe(false);
    upWrite(a, 0);
    expect(downWriteTrylock(a, 0)).toBe(true);
    upWrite(a, 0);
    expect(rwsemIsLocked(a, 0)).toBe(false);
  });

  it('a reader in another thread enters while this thread holds it for read', async () => {
    const a = sem();
    downRead(a, 0);
    const w = spawn(op, { sab: a.buffer, op: 'downRead', index: 0 });
    // The worker reports the reader count while inside: both of us.
    await expect(w.finished).resolves.toMatchObject({ result: 2 });
    upRead(a, 0);
    expect(rwsemIsLocked(a, 0)).toBe(false);
  });

  it('a waiting writer blocks new readers and gets the lock when the readers drain', async () => {
    const a = sem();
    downRead(a, 0);
    const w = spawn(op, { sab: a.buffer, op: 'downWrite', index: 0 });
    await until(() => Atomics.load(a, WRITERS) === 1);
    expect(downReadTrylock(a, 0)).toBe(false);
    upRead(a, 0);
    await expect(w.finished).resolves.toMatchObject({ result: -1 });
    expect([a[COUNT], a[WRITERS]]).toEqual([0, 0]);
  });

  it('2 writers and 2 readers: readers never see a half-done update, counts are exact', async () => {
    const a = new Int32Array(new SharedArrayBuffer(4 * 16));
    const iters = 20_000;
    const base = { sab: a.buffer, iters, sem: 0, x: 4, y: 5, readersInside: 6, maxReaders: 7, barrier: 8, workers: 4 };
    const results = await runAll(new URL('../workers/sync-rwsem.mjs', import.meta.url), [
      { ...base, role: 'writer' },
      { ...base, role: 'writer' },
      { ...base, role: 'reader' },
      { ...base, role: 'reader' },
    ]);
    expect(results.map((r) => r['torn'])).toEqual([0, 0, 0, 0]);
    expect([a[4], a[5]]).toEqual([2 * iters, 2 * iters]);
    expect(a[6]).toBe(0);
    expect(rwsemIsLocked(a, 0)).toBe(false);
    expect([a[1], a[3]]).toEqual([0, 0]);
  });

  it('as simulated CPUs that sleep on their wake words, every sleeper is kicked by a release: none waits out the backstop', async () => {
    const cpus = 6;
    const a = new Int32Array(new SharedArrayBuffer(4 * 16));
    const ipi = new Int32Array(new SharedArrayBuffer(4 * IPI_STRIDE * cpus));
    for (let c = 0; c < cpus; c++) Atomics.store(ipi, c * IPI_STRIDE + IPI_WAIT_ADDR, -1);
    const iters = 1_000;
    const base = { sab: a.buffer, ipiSab: ipi.buffer, cpus, iters, sem: 0, x: 4, y: 5, idle: 6, barrier: 8, workers: cpus, spins: 1 };
    const roles = ['writer', 'writer', 'writer', 'reader', 'reader', 'reader'];
    const results = await runAll(new URL('../workers/sync-rwsem-cpu.mjs', import.meta.url), roles.map((role, me) => ({ ...base, me, role })));
    expect(results.map((r) => r['torn'])).toEqual([0, 0, 0, 0, 0, 0]);
    expect([a[4], a[5]]).toEqual([3 * iters, 3 * iters]);
    expect(rwsemIsLocked(a, 0)).toBe(false);
    // The waits really slept (else the test says nothing about kicks) ...
    expect(results.reduce((n, r) => n + (r['sleeps'] as number), 0)).toBeGreaterThan(1000);
    // ... and each sleep ended with a kick: a sleep that ran into the 250 ms
    // backstop means a release left a waiter asleep while the lock was free.
    expect(results.map((r) => r['timeouts'])).toEqual([0, 0, 0, 0, 0, 0]);
  }, 60_000);
});
