// The one scheduler hook. Every primitive in src/sync calls spinHook() on
// each iteration of a wait loop. The free engine installs a hook that takes
// pending IPIs (a CPU spinning with interrupts enabled must keep answering
// them, or two initiators deadlock); the serialized engine installs one that
// hands the run token to the next CPU. Outside an engine it does nothing.

function noop(): void {}

let hook: () => void = noop;

export function setSpinHook(fn: (() => void) | null): void {
  hook = fn ?? noop;
}

export function spinHook(): void {
  hook();
}

/** Spins before a waiter parks in Atomics.wait: short, because simulated CPUs outnumber host cores. */
export const SPIN_BEFORE_WAIT = 200;
/**
 * A parked waiter wakes at least this often (ms) to run the hook: an IPI
 * rings a different word than the lock it waits on.
 */
export const PARK_TIMEOUT_MS = 1;
