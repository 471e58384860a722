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
