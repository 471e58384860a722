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

/**
 * Spins before a waiter parks in Atomics.wait: short, because simulated
 * CPUs outnumber host cores. Infinity under the serialized engine, where
 * every spin hands the run token on and nobody may sleep holding it.
 */
export let SPIN_BEFORE_WAIT = 200;

/** The serialized engine sets this to Infinity (never park), the free engine leaves 200. */
export function setSpinBeforeWait(spins: number): void {
  SPIN_BEFORE_WAIT = spins;
}

// ---------------------------------------------------------------------------
// Time, for code whose behaviour depends on it
//
// A few paths wait for host time (a store buffer's commit in flight, a
// simulated I/O) or read a clock (should_trim_cpumask's interval). Under the
// free engine that is real time; under the serialized engine it must not
// be, or the same schedule would give a different run: there, a delay is a
// number of scheduling points and the clock counts scheduling decisions.

let delayYield: (() => void) | null = null;
let clock: () => number = Date.now;

/**
 * Installs the serialized engine's time: `yieldFn` hands the token on (a
 * delay of n units yields n times), `clockFn` is its virtual clock in ms.
 * null restores host time.
 */
export function setVirtualTime(yieldFn: (() => void) | null, clockFn: (() => number) | null): void {
  delayYield = yieldFn;
  clock = clockFn ?? Date.now;
}

/** Date.now() for kernel code: host time, or the serialized engine's virtual clock. */
export function kernelClockMs(): number {
  return clock();
}

/**
 * A hardware delay (nanoseconds) during which the CPU takes no interrupt:
 * a busy wait in host time, or one scheduling point per microsecond
 * (at least one) under the serialized engine.
 */
export function hardwareDelayNs(ns: number): void {
  if (delayYield !== null) {
    for (let i = Math.max(1, Math.round(ns / 1000)); i > 0; i--) delayYield();
    return;
  }
  const until = performance.now() + ns / 1e6;
  while (performance.now() < until) { /* in flight */ }
}

/**
 * A kernel delay (microseconds) with interrupts on, as a task waiting for
 * I/O: it keeps taking IPIs (the spin hook). Under the serialized engine,
 * one spin-hook call (a scheduling point) per microsecond.
 */
export function kernelDelayUs(us: number): void {
  if (delayYield !== null) {
    for (let i = Math.max(1, Math.round(us)); i > 0; i--) hook();
    return;
  }
  const until = performance.now() + us / 1000;
  while (performance.now() < until) hook();
}
/**
 * A parked waiter wakes at least this often (ms) to run the hook: an IPI
 * rings a different word than the lock it waits on.
 */
export const PARK_TIMEOUT_MS = 1;

// ---------------------------------------------------------------------------
// Kernel interleaving points
//
// Emulated kernel code runs from op boundary to op boundary; on hardware it
// is interrupted and stalled anywhere interrupts are on, and the races of a
// few statements (read a PMD, then take the lock; clear a PTE, drop the
// lock, then flush) live in exactly those places. kernelPoint(site) marks
// such a place. With no hook installed it is one load and a compare. The
// free engine installs a hook that, at a seeded rate, takes pending IPIs and
// stalls (KCSAN-style delay injection); a serialized engine makes each point
// a scheduling point. Sites are small integers: the lock sites below, the
// kernel's own in src/kernel/points.ts.

/** A spinlock, mutex or rwsem was just taken. */
export const SITE_LOCK_ACQUIRED = 1;
/** A spinlock, mutex or rwsem is about to be released. */
export const SITE_LOCK_RELEASE = 2;

let pointHook: ((site: number) => void) | null = null;

export function setKernelPointHook(fn: ((site: number) => void) | null): void {
  pointHook = fn;
}

/** An interleaving point at `site`: may take IPIs (when interrupts are on), stall, or yield. */
export function kernelPoint(site: number): void {
  if (pointHook !== null) pointHook(site);
}

// ---------------------------------------------------------------------------
// Contended-lock tracing (trace files, issue 10)
//
// Only the slow paths report: a lock taken after waiting, a release that
// hands the lock to a waiter. The uncontended fast path (one compare-and-
// swap) never reaches here, so tracing costs nothing where locks are cheap.
// The CPU worker installs a hook that writes the CPU's trace ring.

/** Which primitive a lock event is about (the trace event's b word). */
export const LOCK_SPIN = 1;
export const LOCK_MUTEX = 2;
export const LOCK_RWSEM_READ = 3;
export const LOCK_RWSEM_WRITE = 4;

let lockTraceHook: ((acquire: boolean, word: number, kind: number, spins: number) => void) | null = null;

export function setLockTraceHook(fn: ((acquire: boolean, word: number, kind: number, spins: number) => void) | null): void {
  lockTraceHook = fn;
}

/**
 * A contended acquire (after `spins` turns of waiting) or a release to a
 * waiter of the lock at SAB word `word` (wordAddr: byte offset / 4).
 */
export function traceLockSlow(acquire: boolean, word: number, kind: number, spins: number): void {
  if (lockTraceHook !== null) lockTraceHook(acquire, word, kind, spins);
}
