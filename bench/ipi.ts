// IPI round trip: CPU 0 calls a no-op on CPU 1 with wait through
// smpCallFunctionManyCond (csd lock, queue push, doorbell, remote drain,
// ack, the sender's wait loop), in two worker threads, next to the raw
// floor for the same job: a two-worker Atomics ping-pong with the same
// spin-then-sleep policy. Both are measured alternately in the same run,
// same threads, so a noisy host moves both alike.
//
// This module is also the worker: started with workerData.ipiBench it runs
// one side of the measurement instead of exporting anything useful.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createMachineMemory, attachMachineMemory, type MachineMemory } from '../native-layout/memory.js';
import { MIN_MEM_BYTES, defaultShape, type MachineShape } from '../native-layout/shape.js';
import { apicKick } from '../src/hw/apic.js';
import {
  CSD_SPIN_BEFORE_PARK, IPI_FUNC_NOP, SCF_WAIT, makeSmpCtx, pollIpis, smpCallFunctionManyCond, smpIdleWait, smpInit,
} from '../src/kernel/smp.js';
import { PARK_TIMEOUT_MS, setSpinHook } from '../src/sync/hook.js';
import { MIN_TRIALS, makeRow, type Row } from './harness.js';

// Words of the bench's own control buffer.
const MODE = 0;
const READY = 1;
const PING = 2;
const PONG = 3;
/** The ping-pong side parked in Atomics.wait: [4] the responder, [5] the initiator. */
const PARKED_B = 4;
const PARKED_A = 5;
const WORDS = 6;

const MODE_IDLE = 0;
const MODE_IPI = 1;
const MODE_PINGPONG = 2;
const MODE_EXIT = 3;

interface BenchWorkerData {
  readonly ipiBench: true;
  readonly role: 'initiator' | 'responder';
  readonly sab: SharedArrayBuffer;
  readonly shape: MachineShape;
  readonly ctl: SharedArrayBuffer;
  readonly trips: number;
  readonly rounds: number;
}

interface Rates {
  readonly subject: number[];
  readonly baseline: number[];
}

export interface IpiBenchOptions {
  /** Short form for CI: fewer round trips and rounds. */
  readonly quick?: boolean;
}

/** Measures IPI round trips per second against the raw ping-pong. */
export async function measureIpiRoundTrip(opts: IpiBenchOptions = {}): Promise<Row> {
  const trips = opts.quick ? 10_000 : 50_000;
  const rounds = opts.quick ? MIN_TRIALS : 9;
  const mem: MachineMemory = createMachineMemory(defaultShape({ memBytes: MIN_MEM_BYTES, cpus: 2 }));
  smpInit(mem);
  const ctl = new SharedArrayBuffer(WORDS * 4);
  const start = (role: BenchWorkerData['role']): Promise<Rates | null> => new Promise((resolve, reject) => {
    const data: BenchWorkerData = { ipiBench: true, role, sab: mem.sab, shape: mem.layout.shape, ctl, trips, rounds };
    const w = new Worker(new URL(import.meta.url), { workerData: data });
    let rates: Rates | null = null;
    w.on('message', (m: Rates) => {
      rates = m;
    });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve(rates) : reject(new Error(`ipi bench ${role} exited with code ${code}`))));
  });
  const [rates] = await Promise.all([start('initiator'), start('responder')]);
  if (rates === null) throw new Error('ipi bench: the initiator reported no rates');
  // Round trips/s are turned into µs per round trip: the target (at most
  // 1.5x the ping-pong) is a ratio of times.
  const us = (perSec: number): number => 1e6 / perSec;
  return makeRow({
    name: 'IPI round trip (smpCallFunctionManyCond, wait)',
    unit: 'µs',
    values: rates.subject.map(us),
    baselines: rates.baseline.map(us),
    baselineName: 'Atomics ping-pong, same spin-then-wait',
    target: { on: 'ratio', op: '<=', bound: 1.5 },
  });
}

// ---------------------------------------------------------------------------
// Worker side

/** Spin on `a[i]` while it equals `v`, then sleep on it, announcing the sleep in a[parked]. */
function waitWhileEquals(a: Int32Array, i: number, v: number, parked: number): void {
  let spins = 0;
  while (Atomics.load(a, i) === v) {
    if (++spins > CSD_SPIN_BEFORE_PARK) {
      Atomics.store(a, parked, 1);
      if (Atomics.load(a, i) === v) Atomics.wait(a, i, v, PARK_TIMEOUT_MS);
      Atomics.store(a, parked, 0);
    }
  }
}

/** Store then wake the peer only if it sleeps: the same rule as apicSendIpi. */
function storeAndWake(a: Int32Array, i: number, v: number, parked: number): void {
  Atomics.store(a, i, v);
  if (Atomics.load(a, parked) !== 0) Atomics.notify(a, i);
}

function setMode(ctl: Int32Array, mem: MachineMemory, mode: number): void {
  Atomics.store(ctl, MODE, mode);
  Atomics.notify(ctl, MODE);
  Atomics.notify(ctl, PING);
  apicKick(mem.views.ipi, 1);
}

function bothReady(ctl: Int32Array): void {
  Atomics.add(ctl, READY, 1);
  for (;;) {
    const n = Atomics.load(ctl, READY);
    if (n >= 2) return;
    Atomics.wait(ctl, READY, n, 5);
  }
}

function initiator(d: BenchWorkerData, mem: MachineMemory, ctl: Int32Array): Rates {
  const smp = makeSmpCtx(mem, 0);
  setSpinHook(() => pollIpis(smp));
  const mask = new Int32Array([1 << 1, 0]);
  let ping = 0;
  const ipiRound = (): number => {
    setMode(ctl, mem, MODE_IPI);
    const t0 = performance.now();
    for (let i = 0; i < d.trips; i++) smpCallFunctionManyCond(smp, mask, 0, IPI_FUNC_NOP, 0, 0, 0, 0, SCF_WAIT, null);
    return d.trips / ((performance.now() - t0) / 1000);
  };
  const pingPongRound = (): number => {
    setMode(ctl, mem, MODE_PINGPONG);
    const t0 = performance.now();
    for (let i = 0; i < d.trips; i++) {
      ping++;
      storeAndWake(ctl, PING, ping, PARKED_B);
      waitWhileEquals(ctl, PONG, ping - 1, PARKED_A);
    }
    return d.trips / ((performance.now() - t0) / 1000);
  };
  // One of each first, so both paths are optimised before timing.
  ipiRound();
  pingPongRound();
  const subject: number[] = [];
  const baseline: number[] = [];
  for (let r = 0; r < d.rounds; r++) {
    if (r % 2 === 0) {
      subject.push(ipiRound());
      baseline.push(pingPongRound());
    } else {
      baseline.push(pingPongRound());
      subject.push(ipiRound());
    }
  }
  setMode(ctl, mem, MODE_EXIT);
  setSpinHook(null);
  return { subject, baseline };
}

function responder(mem: MachineMemory, ctl: Int32Array): void {
  const smp = makeSmpCtx(mem, 1);
  setSpinHook(() => pollIpis(smp));
  let seen = 0;
  for (;;) {
    const mode = Atomics.load(ctl, MODE);
    if (mode === MODE_EXIT) break;
    if (mode === MODE_IPI) {
      while (Atomics.load(ctl, MODE) === MODE_IPI) smpIdleWait(smp, CSD_SPIN_BEFORE_PARK);
    } else if (mode === MODE_PINGPONG) {
      // waitWhileEquals inlined, with the mode check a mode change needs.
      let spins = 0;
      while (Atomics.load(ctl, MODE) === MODE_PINGPONG) {
        const p = Atomics.load(ctl, PING);
        if (p !== seen) {
          seen = p;
          storeAndWake(ctl, PONG, p, PARKED_A);
          spins = 0;
        } else if (++spins > CSD_SPIN_BEFORE_PARK) {
          Atomics.store(ctl, PARKED_B, 1);
          if (Atomics.load(ctl, PING) === seen) Atomics.wait(ctl, PING, seen, PARK_TIMEOUT_MS);
          Atomics.store(ctl, PARKED_B, 0);
        }
      }
    } else {
      Atomics.wait(ctl, MODE, mode, 5);
    }
  }
  setSpinHook(null);
}

function benchWorker(d: BenchWorkerData): void {
  const mem = attachMachineMemory(d.sab, d.shape);
  const ctl = new Int32Array(d.ctl);
  bothReady(ctl);
  if (d.role === 'initiator') parentPort!.postMessage(initiator(d, mem, ctl));
  else responder(mem, ctl);
}

if (!isMainThread && (workerData as Partial<BenchWorkerData> | null)?.ipiBench === true) {
  benchWorker(workerData as BenchWorkerData);
}
