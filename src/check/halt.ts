// A violation a CPU cannot run past. Most violations are recorded and the
// CPU goes on (the engine decides whether the run stops at the next op
// boundary). A few leave the CPU with nothing sensible to do next: lockdep's
// hazards (the hang the moment the other CPU shows up) and a user access
// that faults for ever (the task would spin in its fault loop). The CPU that
// finds one records it, asks every CPU to stop, and unwinds with
// ViolationHalt; the engine treats that as a stop, not as an emulator fault,
// so the run ends with the violation and not with a crash report.

import {
  CONTROL_STOP as CONTROL_STOP_, IPI_QUEUE_HEAD as IPI_QUEUE_HEAD_, IPI_STRIDE as IPI_STRIDE_,
} from '../../native-layout/fields.js';
import type { MachineViews } from '../../native-layout/memory.js';
import { IPI_QUEUE_EMPTY, IPI_QUEUE_STOPPED, apicKick } from '../hw/apic.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const CONTROL_STOP = CONTROL_STOP_, IPI_QUEUE_HEAD = IPI_QUEUE_HEAD_, IPI_STRIDE = IPI_STRIDE_;

/** The stop value the engine's abort uses (src/kernel/smp.ts STOP_ABORT; kept equal by a test). */
export const HALT_STOP_ABORT = 2;

/**
 * Thrown by the CPU that recorded a violation it cannot run past, after it
 * asked every CPU to stop (haltMachine). The engine's CPU loop and the
 * inline runner catch it as a stop: the violation is already in the
 * oracle's records.
 */
export class ViolationHalt extends Error {
  override name = 'ViolationHalt';
}

/**
 * Asks every CPU to unwind, as the engine's abortRun (src/engine/control.ts)
 * does; repeated here because kernel code may not import the engine. A CPU
 * spinning with interrupts off cannot see it: the engine terminates it after
 * its grace period.
 */
export function haltMachine(views: MachineViews): void {
  Atomics.store(views.control, CONTROL_STOP, HALT_STOP_ABORT);
  Atomics.notify(views.control, CONTROL_STOP);
  const cpus = views.ipi.length / IPI_STRIDE;
  for (let c = 0; c < cpus; c++) {
    Atomics.compareExchange(views.ipi, c * IPI_STRIDE + IPI_QUEUE_HEAD, IPI_QUEUE_EMPTY, IPI_QUEUE_STOPPED);
    apicKick(views.ipi, c);
  }
}
