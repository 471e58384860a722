// The first module a CPU worker evaluates (cpu-worker.ts imports it before
// anything else, and ES modules evaluate depth-first in import order, in
// the bundle too): the time the thread had booted and read and compiled
// its code, for the start-up log (src/engine/startup-log.ts). One clock
// read per worker, log on or off.

/** Absolute time (ms since the epoch) at which this worker began evaluating its modules. */
export const MODULES_EVALUATION_BEGAN_AT: number = performance.timeOrigin + performance.now();
