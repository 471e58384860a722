// The control words every CPU and the main thread share (the `control`
// region): stop flag, start barrier, quiescence count. Both sides of the
// protocol live here so they cannot drift apart.

import {
  CONTROL_BARRIER_COUNT, CONTROL_BARRIER_GEN, CONTROL_CPUS_DONE, CONTROL_CPUS_ONLINE, CONTROL_EPOCH, CONTROL_STOP,
  IPI_QUEUE_HEAD, IPI_STRIDE,
} from '../../native-layout/fields.js';
import type { MachineViews } from '../../native-layout/memory.js';
import { IPI_QUEUE_EMPTY, IPI_QUEUE_STOPPED, apicKick } from '../hw/apic.js';
import { RunStopped, STOP_ABORT, STOP_GRACEFUL } from '../kernel/smp.js';

/** Spins at the start barrier before each Atomics.wait: start-up takes tens of ms, spinning longer only burns a core. */
const BARRIER_SPINS = 100;
/**
 * A parked CPU is woken by the last arrival's notify, or by abortRun's: the
 * timeout is only a backstop. It used to be 5 ms: with 64 CPUs on 2 cores,
 * the early arrivals then woke ~12,000 times a second between them, taking
 * the cores from the workers still loading, which the barrier waits for.
 */
const BARRIER_PARK_MS = 50;

export function resetControl(views: MachineViews): void {
  const c = views.control;
  for (const i of [CONTROL_STOP, CONTROL_BARRIER_COUNT, CONTROL_BARRIER_GEN, CONTROL_EPOCH, CONTROL_CPUS_ONLINE, CONTROL_CPUS_DONE]) {
    Atomics.store(c, i, 0);
  }
}

/** Every CPU finishes its current op, then quiesces. Has no effect on a run already aborting. */
export function requestStop(views: MachineViews): void {
  Atomics.compareExchange(views.control, CONTROL_STOP, 0, STOP_GRACEFUL);
}

/**
 * Aborts the run: every wait loop unwinds with RunStopped. Idempotent, and
 * meant to be repeated (the main thread does on every tick while it waits):
 * the stop marker can only be planted in an empty queue, and a CPU busy
 * draining IPIs may have had a non-empty one at the last try.
 */
export function abortRun(views: MachineViews, cpus: number): void {
  const c = views.control;
  Atomics.store(c, CONTROL_STOP, STOP_ABORT);
  Atomics.notify(c, CONTROL_STOP);
  Atomics.notify(c, CONTROL_BARRIER_GEN);
  for (let cpu = 0; cpu < cpus; cpu++) {
    // A CPU spinning with interrupts enabled in a sync/ primitive only ever
    // polls its queue head: a non-empty-looking head sends it into the
    // drain, which ends at the marker and throws RunStopped.
    Atomics.compareExchange(views.ipi, cpu * IPI_STRIDE + IPI_QUEUE_HEAD, IPI_QUEUE_EMPTY, IPI_QUEUE_STOPPED);
    apicKick(views.ipi, cpu);
  }
}

export function isAborting(control: Int32Array): boolean {
  return Atomics.load(control, CONTROL_STOP) === STOP_ABORT;
}

/**
 * Holds each CPU until all `cpus` have arrived, so op loops really overlap
 * (a worker's start-up is longer than many ops). Waits with a timeout and
 * watches for an abort: a worker that failed to start must not leave the
 * others blocked here.
 */
export function startBarrier(control: Int32Array, cpus: number): void {
  const gen = Atomics.load(control, CONTROL_BARRIER_GEN);
  if (Atomics.add(control, CONTROL_BARRIER_COUNT, 1) + 1 === cpus) {
    Atomics.add(control, CONTROL_BARRIER_GEN, 1);
    Atomics.notify(control, CONTROL_BARRIER_GEN);
    return;
  }
  let spins = 0;
  while (Atomics.load(control, CONTROL_BARRIER_GEN) === gen) {
    if (Atomics.load(control, CONTROL_STOP) === STOP_ABORT) throw new RunStopped();
    if (++spins > BARRIER_SPINS) Atomics.wait(control, CONTROL_BARRIER_GEN, gen, BARRIER_PARK_MS);
  }
}

/** Has the start barrier opened (main thread's view)? */
export function runStarted(control: Int32Array): boolean {
  return Atomics.load(control, CONTROL_BARRIER_GEN) !== 0;
}
