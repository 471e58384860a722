// IPI round trip: CPU 0 calls a no-op on CPU 1 with wait through
// smpCallFunctionManyCond (csd lock, queue push, doorbell, remote drain,
// ack, the sender's wait loop), in two worker threads, next to the raw
// floor for the same job: a two-worker Atomics ping-pong with the same
// spin-then-sleep policy. Both are measured alternately in the same run,
// same threads, so a noisy host moves both alike.
//
// A second, reported row puts the same call next to the smp_call_function
// protocol itself written over raw words (rawCsdTrip below): csd lock,
// llist push onto the target's queue, doorbell, the target's exchange of
// its queue, the ack store, the same spin-then-sleep. That protocol moves
// more cache lines per trip than a ping-pong of one word (the csd, the
// target's queue head, each twice), so its ratio to the emulator's call is
// what our code adds, and its own ratio to the ping-pong is the protocol's.
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
/** The responder's acknowledgement of a mode change: the mode it is now in. */
const MODE_SEEN = 6;
const WORDS = 7;

// The raw protocol's buffer: three records 128 bytes apart, so that no two
// share a cache line whatever the buffer's alignment (a small
// SharedArrayBuffer is not 64-byte aligned), as the emulator's csd and
// per-CPU ipi records do not.
const RAW_CSD = 0; // the csd: flags, func, info x4, next, ran (offsets below)
const RAW_FLAGS = 0;
const RAW_FUNC = 1;
const RAW_INFO = 2;
const RAW_NEXT = 6;
/** The bench's check that the call ran before its ack: the target copies info here. */
const RAW_RAN = 7;
const RAW_TARGET = 32; // the target's queue head, doorbell, parked
const RAW_SENDER_PARKED = 64; // the sender sleeping on the csd's flags
const RAW_HEAD = 0;
const RAW_BELL = 1;
const RAW_PARKED = 3;
const RAW_WORDS = 80;
const RAW_EMPTY = -1;
const RAW_LOCK = 1;

const MODE_IDLE = 0;
const MODE_IPI = 1;
const MODE_PINGPONG = 2;
const MODE_EXIT = 3;
const MODE_RAW_CSD = 4;

interface BenchWorkerData {
  readonly ipiBench: true;
  readonly role: 'initiator' | 'responder';
  readonly sab: SharedArrayBuffer;
  readonly shape: MachineShape;
  readonly ctl: SharedArrayBuffer;
  readonly raw: SharedArrayBuffer;
  readonly trips: number;
  readonly rounds: number;
}

interface Rates {
  readonly subject: number[];
  readonly baseline: number[];
  /** The raw csd protocol, in the same rounds. */
  readonly rawCsd: number[];
}

export interface IpiBenchOptions {
  /** Short form for CI: fewer round trips and rounds. */
  readonly quick?: boolean;
}

/**
 * Measures IPI round trips against the raw ping-pong (the row with the
 * issue's target) and against the same csd protocol on raw words
 * (reported, no target).
 */
export async function measureIpiRoundTrip(opts: IpiBenchOptions = {}): Promise<Row[]> {
  const trips = opts.quick ? 10_000 : 50_000;
  const rounds = opts.quick ? MIN_TRIALS : 9;
  const mem: MachineMemory = createMachineMemory(defaultShape({ memBytes: MIN_MEM_BYTES, cpus: 2 }));
  smpInit(mem);
  const ctl = new SharedArrayBuffer(WORDS * 4);
  const raw = new SharedArrayBuffer(RAW_WORDS * 4);
  new Int32Array(raw)[RAW_TARGET + RAW_HEAD] = RAW_EMPTY;
  const start = (role: BenchWorkerData['role']): Promise<Rates | null> => new Promise((resolve, reject) => {
    const data: BenchWorkerData = { ipiBench: true, role, sab: mem.sab, shape: mem.layout.shape, ctl, raw, trips, rounds };
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
  return [
    makeRow({
      name: 'IPI round trip (smpCallFunctionManyCond, wait)',
      unit: 'µs',
      values: rates.subject.map(us),
      baselines: rates.baseline.map(us),
      baselineName: 'Atomics ping-pong, same spin-then-wait',
      target: { on: 'ratio', op: '<=', bound: 1.5 },
    }),
    makeRow({
      name: 'IPI round trip vs the csd protocol on raw words',
      unit: 'µs',
      values: rates.subject.map(us),
      baselines: rates.rawCsd.map(us),
      baselineName: 'csd lock, llist push, doorbell, exchange, ack',
      target: null,
    }),
  ];
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

/** The raw protocol's words, in the initiator (setMode rings its target's doorbell too). */
let rawWords: Int32Array | null = null;

function setMode(ctl: Int32Array, mem: MachineMemory, mode: number): void {
  Atomics.store(ctl, MODE, mode);
  Atomics.notify(ctl, MODE);
  Atomics.notify(ctl, PING);
  apicKick(mem.views.ipi, 1);
  if (rawWords !== null) {
    Atomics.add(rawWords, RAW_TARGET + RAW_BELL, 1);
    Atomics.notify(rawWords, RAW_TARGET + RAW_BELL);
  }
  // Before the clock starts, the responder must be in the new mode: one
  // still in smpIdleWait's spin when the kick came sleeps out its park
  // timeout (1 ms) before it looks at the mode, and that used to land in
  // the next round's first trip (5-10% of a round).
  if (mode !== MODE_EXIT) while (Atomics.load(ctl, MODE_SEEN) !== mode);
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
  const p = new Int32Array(d.raw);
  rawWords = p;
  let seq = 0;
  const rawRound = (): number => {
    setMode(ctl, mem, MODE_RAW_CSD);
    const t0 = performance.now();
    for (let i = 0; i < d.trips; i++) {
      seq = (seq + 1) | 0;
      rawCsdTrip(p, seq);
    }
    return d.trips / ((performance.now() - t0) / 1000);
  };
  // One of each first, so every path is optimised before timing.
  ipiRound();
  pingPongRound();
  rawRound();
  const subject: number[] = [];
  const baseline: number[] = [];
  const rawCsd: number[] = [];
  // The order rotates each round, so no side always runs first.
  const order = [
    () => subject.push(ipiRound()),
    () => baseline.push(pingPongRound()),
    () => rawCsd.push(rawRound()),
  ];
  for (let r = 0; r < d.rounds; r++) {
    for (let k = 0; k < order.length; k++) order[(r + k) % order.length]!();
  }
  setMode(ctl, mem, MODE_EXIT);
  setSpinHook(null);
  return { subject, baseline, rawCsd };
}

function responder(mem: MachineMemory, ctl: Int32Array, raw: Int32Array): void {
  const smp = makeSmpCtx(mem, 1);
  setSpinHook(() => pollIpis(smp));
  let seen = 0;
  for (;;) {
    const mode = Atomics.load(ctl, MODE);
    if (mode === MODE_EXIT) break;
    Atomics.store(ctl, MODE_SEEN, mode);
    if (mode === MODE_IPI) {
      while (Atomics.load(ctl, MODE) === MODE_IPI) smpIdleWait(smp, CSD_SPIN_BEFORE_PARK);
    } else if (mode === MODE_RAW_CSD) {
      rawCsdServe(ctl, raw);
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

/**
 * One call through the raw csd protocol, sender side (the shape of
 * smp_call_function_many_cond with wait, kernel/smp.c): wait for the csd to
 * be free and lock it, fill it, push it on the target's queue (llist_add),
 * ring the target if the queue was empty (only a sleeping target is
 * notified), then wait for the ack with the ping-pong's spin-then-sleep.
 */
function rawCsdTrip(p: Int32Array, seq: number): void {
  while ((Atomics.load(p, RAW_CSD + RAW_FLAGS) & RAW_LOCK) !== 0);
  p[RAW_CSD + RAW_FLAGS] = RAW_LOCK;
  p[RAW_CSD + RAW_FUNC] = 0;
  p[RAW_CSD + RAW_INFO] = seq;
  let first = Atomics.load(p, RAW_TARGET + RAW_HEAD);
  for (;;) {
    p[RAW_CSD + RAW_NEXT] = first;
    const seen = Atomics.compareExchange(p, RAW_TARGET + RAW_HEAD, first, RAW_CSD);
    if (seen === first) break;
    first = seen;
  }
  if (first === RAW_EMPTY) {
    Atomics.add(p, RAW_TARGET + RAW_BELL, 1);
    if (Atomics.load(p, RAW_TARGET + RAW_PARKED) !== 0) Atomics.notify(p, RAW_TARGET + RAW_BELL);
  }
  waitWhileEquals(p, RAW_CSD + RAW_FLAGS, RAW_LOCK, RAW_SENDER_PARKED);
  if (p[RAW_CSD + RAW_RAN] !== seq) throw new Error('ipi bench: the raw csd was acked before it ran');
}

/**
 * The target side of the raw protocol while the mode lasts: watch the queue
 * head, take the whole queue with an exchange, read the csd, record that it
 * ran, ack with the release store (waking the sender only if it sleeps);
 * sleep on our doorbell after CSD_SPIN_BEFORE_PARK idle spins.
 */
function rawCsdServe(ctl: Int32Array, p: Int32Array): void {
  let spins = 0;
  while (Atomics.load(ctl, MODE) === MODE_RAW_CSD) {
    if (Atomics.load(p, RAW_TARGET + RAW_HEAD) !== RAW_EMPTY) {
      let e = Atomics.exchange(p, RAW_TARGET + RAW_HEAD, RAW_EMPTY);
      while (e !== RAW_EMPTY) {
        const next = p[e + RAW_NEXT]!;
        p[e + RAW_RAN] = p[e + RAW_INFO]!;
        storeAndWake(p, e + RAW_FLAGS, 0, RAW_SENDER_PARKED);
        e = next;
      }
      spins = 0;
    } else if (++spins > CSD_SPIN_BEFORE_PARK) {
      Atomics.store(p, RAW_TARGET + RAW_PARKED, 1);
      const bell = Atomics.load(p, RAW_TARGET + RAW_BELL);
      if (Atomics.load(p, RAW_TARGET + RAW_HEAD) === RAW_EMPTY && Atomics.load(ctl, MODE) === MODE_RAW_CSD) {
        Atomics.wait(p, RAW_TARGET + RAW_BELL, bell, PARK_TIMEOUT_MS);
      }
      Atomics.store(p, RAW_TARGET + RAW_PARKED, 0);
      spins = 0;
    }
  }
}

function benchWorker(d: BenchWorkerData): void {
  const mem = attachMachineMemory(d.sab, d.shape);
  const ctl = new Int32Array(d.ctl);
  bothReady(ctl);
  if (d.role === 'initiator') parentPort!.postMessage(initiator(d, mem, ctl));
  else responder(mem, ctl, new Int32Array(d.raw));
}

if (!isMainThread && (workerData as Partial<BenchWorkerData> | null)?.ipiBench === true) {
  benchWorker(workerData as BenchWorkerData);
}
