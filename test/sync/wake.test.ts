// Waits that yield: a CPU that gives up spinning sleeps on its one wake
// word, publishes what it waits for, and is woken by exactly the event it
// waits for or by an IPI ring — never by polling on a timer.
import { describe, expect, it } from 'vitest';
import { IPI_PARKED, IPI_STRIDE, IPI_WAIT_ADDR, IPI_WAIT_VAL } from '../../native-layout/fields.js';
import { WAIT_ANY, ringCpu, wordAddr } from '../../src/sync/index.js';
import { spawn, until } from './workers.js';

const LOCK = 0;
const CMD = 4;
const STATE = 8;
const HOOKS = 12;

function machine(cpus: number) {
  const a = new Int32Array(new SharedArrayBuffer(4 * 32));
  const ipi = new Int32Array(new SharedArrayBuffer(4 * IPI_STRIDE * cpus));
  for (let c = 0; c < cpus; c++) Atomics.store(ipi, c * IPI_STRIDE + IPI_WAIT_ADDR, -1);
  const cpu = (me: number) =>
    spawn(new URL('../workers/sync-wake.mjs', import.meta.url), { sab: a.buffer, ipiSab: ipi.buffer, me, cpus, LOCK, CMD, STATE, HOOKS });
  const command = (me: number, cmd: number) => {
    Atomics.store(a, CMD + me, cmd);
    Atomics.notify(a, CMD + me);
  };
  return { a, ipi, cpu, command };
}

/**
 * CPU 0 holds the lock; CPU 1 asks for it and is left asleep on it. Returns
 * the machine and a `finish` that lets CPU 1 through, releases it and ends
 * both workers (resolving with CPU 1's sleep statistics).
 */
async function waiterAsleep() {
  const m = machine(2);
  const holder = m.cpu(0);
  const waiter = m.cpu(1);
  m.command(0, 1);
  await until(() => Atomics.load(m.a, STATE + 0) === 1);
  m.command(1, 1);
  // CPU 1 queues, becomes first in line, spins, then halts on the lock word.
  await until(() => Atomics.load(m.ipi, IPI_STRIDE + IPI_PARKED) === 1
    && Atomics.load(m.ipi, IPI_STRIDE + IPI_WAIT_ADDR) === wordAddr(m.a, LOCK));
  const finish = async () => {
    m.command(0, 2);
    await until(() => Atomics.load(m.a, STATE + 1) === 1);
    m.command(1, 2);
    await until(() => Atomics.load(m.a, STATE + 1) === 2);
    m.command(0, 3);
    m.command(1, 3);
    const [, w] = await Promise.all([holder.finished, waiter.finished]);
    return w;
  };
  return { m, finish };
}

describe('CPU wake words', () => {
  it('a lock waiter sleeps publishing the lock, and the unlock kicks it awake', async () => {
    const { m, finish } = await waiterAsleep();
    expect(Atomics.load(m.ipi, IPI_STRIDE + IPI_WAIT_VAL)).toBe(WAIT_ANY);
    expect(Atomics.load(m.a, STATE + 1)).toBe(0);
    const w = await finish();
    expect(w['sleeps']).toBeGreaterThanOrEqual(1);
    // Its last sleep ended because the unlock rang it, not at the backstop.
    expect(w['lastWoken']).toBe(true);
    expect(Atomics.load(m.ipi, IPI_STRIDE + IPI_WAIT_ADDR)).toBe(-1);
  });

  it('an IPI ring wakes a sleeping lock waiter, which runs its hook (takes the IPI) and sleeps again', async () => {
    const { m, finish } = await waiterAsleep();
    const hooks = Atomics.load(m.a, HOOKS + 1);
    ringCpu(m.ipi, 1);
    // It wakes, polls (the hook), finds the lock still held and halts again.
    await until(() => Atomics.load(m.a, HOOKS + 1) > hooks && Atomics.load(m.ipi, IPI_STRIDE + IPI_PARKED) === 1);
    expect(Atomics.load(m.a, STATE + 1)).toBe(0);
    await finish();
  });
});
