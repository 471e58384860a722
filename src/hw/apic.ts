// The local APIC as far as IPIs go: one mailbox per CPU in the `ipi` region.
// A sender rings the target's doorbell (the interrupt line); the target
// notices pending work by looking at its call queue head at every
// interrupt-enabled boundary (the interrupt flag check a real CPU does
// between instructions). The doorbell only matters to a CPU that has gone
// to sleep in Atomics.wait (HLT): it is the futex word that wakes it.
//
// The queue itself (a lock-free list of csds, kernel/smp.c's
// call_single_queue) belongs to the kernel; here is only the head word's
// encoding and the wake-up protocol.

import {
  IPI_DOORBELL as IPI_DOORBELL_, IPI_PARKED as IPI_PARKED_, IPI_QUEUE_HEAD as IPI_QUEUE_HEAD_, IPI_STRIDE as IPI_STRIDE_,
} from '../../native-layout/fields.js';
import { spinHook } from '../sync/hook.js';
import { haltAllowed, ringCpu } from '../sync/wake.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const IPI_DOORBELL = IPI_DOORBELL_, IPI_PARKED = IPI_PARKED_, IPI_QUEUE_HEAD = IPI_QUEUE_HEAD_, IPI_STRIDE = IPI_STRIDE_;

/** Queue head of a CPU with nothing pending. */
export const IPI_QUEUE_EMPTY = -1;
/**
 * Queue head planted by the engine when it aborts a run: never a csd index,
 * so the next poll takes the slow path and unwinds. Senders that push on
 * top of it see a non-empty queue and do not ring; the drain ends its walk
 * at any negative index.
 */
export const IPI_QUEUE_STOPPED = -2;

/**
 * Poll-path check: is anything queued for `cpu`? A plain load: the caller
 * takes the queue with an atomic exchange, which is where ordering comes
 * from, and every loop that polls also does an Atomics operation (or a
 * call the compiler cannot see through), so the load is not hoisted.
 */
export function ipiPending(ipi: Int32Array, cpu: number): boolean {
  return ipi[cpu * IPI_STRIDE + IPI_QUEUE_HEAD] !== IPI_QUEUE_EMPTY;
}

/**
 * Raises the IPI line of `cpu`. The notify (a futex wake in the host
 * kernel) is paid only when the target sleeps; a running target sees its
 * queue head at its next poll anyway.
 */
export function apicSendIpi(ipi: Int32Array, cpu: number): void {
  // The doorbell is the CPU's one wake word (src/sync/wake.ts): a CPU
  // asleep waiting for a lock wakes for an IPI too.
  ringCpu(ipi, cpu);
}

/**
 * Wakes `cpu` only if it sleeps: what a csd ack does for a sender that gave
 * up spinning. Pairs with apicPrepareHalt (see there for the ordering).
 */
export function apicWakeIfHalted(ipi: Int32Array, cpu: number): void {
  const at = cpu * IPI_STRIDE;
  if (Atomics.load(ipi, at + IPI_PARKED) !== 0) {
    Atomics.add(ipi, at + IPI_DOORBELL, 1);
    Atomics.notify(ipi, at + IPI_DOORBELL);
  }
}

/** Rings unconditionally: used by the engine to wake every CPU for a stop. */
export function apicKick(ipi: Int32Array, cpu: number): void {
  const at = cpu * IPI_STRIDE;
  Atomics.add(ipi, at + IPI_DOORBELL, 1);
  Atomics.notify(ipi, at + IPI_DOORBELL);
}

/**
 * First half of going to sleep: announce it, then read the doorbell. The
 * caller must re-check what it waits for *after* this and before
 * apicHalt. Announcing first closes the lost-wake-up window for waiters
 * whose condition is not the doorbell itself (a csd ack): an acker that
 * clears the lock after our re-check is ordered after our announcement, so
 * it sees `parked` and rings; one that cleared it before, we see.
 */
export function apicPrepareHalt(ipi: Int32Array, cpu: number): number {
  const at = cpu * IPI_STRIDE;
  Atomics.store(ipi, at + IPI_PARKED, 1);
  return Atomics.load(ipi, at + IPI_DOORBELL);
}

/** HLT with a timeout: sleeps until the doorbell moves from `seen`, or timeoutMs. */
export function apicHalt(ipi: Int32Array, cpu: number, seen: number, timeoutMs: number): void {
  const at = cpu * IPI_STRIDE;
  if (!haltAllowed()) {
    // Serialized engine: the CPU that would halt hands the token on
    // instead; its caller's loop looks again when it comes back.
    Atomics.store(ipi, at + IPI_PARKED, 0);
    spinHook();
    return;
  }
  Atomics.wait(ipi, at + IPI_DOORBELL, seen, timeoutMs);
  Atomics.store(ipi, at + IPI_PARKED, 0);
}

/** The re-check after apicPrepareHalt found the condition met: do not sleep. */
export function apicCancelHalt(ipi: Int32Array, cpu: number): void {
  Atomics.store(ipi, cpu * IPI_STRIDE + IPI_PARKED, 0);
}
