// Waits that yield: the one word a simulated CPU sleeps on.
//
// With more simulated CPUs than host cores, two things turn waiting into a
// convoy: waiters that wake on a timer to look for IPIs (64 CPUs each waking
// every millisecond is 64,000 host context switches a second, most of them
// finding nothing), and a FIFO lock whose next owner is asleep while the
// others spin. Paravirtualised kernels met the same two problems with vCPUs
// on busy hosts and answered both the same way (pv qspinlock's
// pv_wait/pv_kick, arch/x86/kernel/kvm.c kvm_wait/kvm_kick_cpu, and before
// it the pv ticketlock's lock_waiting table): a waiter spins briefly, then
// publishes what it waits for and halts; whoever changes that thing kicks
// exactly the CPUs waiting for it. Here:
//
// - each CPU has one wake word (its APIC doorbell in the `ipi` region). An
//   IPI to it rings that word, and so does a lock handoff, an ack, a
//   completion: a sleeping CPU wakes for whichever comes first, so nothing
//   needs a timeout to notice an IPI;
// - before sleeping, a CPU publishes (waitAddr, waitVal): the SAB word index
//   of the lock or event and, for a ticket lock, the ticket it holds;
// - a releaser that sees sleepers scans the CPUs' published pairs and rings
//   only the matching ones: the next ticket holder, or one/all waiters.
//
// Why no wake-up is lost: every step is a sequentially consistent Atomics
// operation. The waiter publishes, marks itself parked, samples its wake
// word, and only then re-checks the condition. The releaser changes the
// condition first, then reads the published pairs. If the releaser's scan
// misses the pair, the pair was published after the condition changed, so
// the waiter's re-check sees the change and does not sleep. If the scan
// finds it, the ring lands either before the waiter sampled its wake word
// (then the re-check after the sample sees the change) or after (then the
// wait returns at once, or the releaser, seeing `parked`, notifies it).
//
// Threads that are not simulated CPUs (tests driving sync primitives from
// plain workers, the main thread) have no wake word: they park on the lock
// word itself with a short timeout, as before. Releasers notify that word
// too whenever anyone sleeps, so both kinds of waiter can share a lock.

import { PARK_TIMEOUT_MS } from './hook.js';
import {
  IPI_DOORBELL as IPI_DOORBELL_, IPI_PARKED as IPI_PARKED_, IPI_STRIDE as IPI_STRIDE_, IPI_WAIT_ADDR as IPI_WAIT_ADDR_,
  IPI_WAIT_VAL as IPI_WAIT_VAL_,
} from '../../native-layout/fields.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const IPI_DOORBELL = IPI_DOORBELL_, IPI_PARKED = IPI_PARKED_, IPI_STRIDE = IPI_STRIDE_, IPI_WAIT_ADDR = IPI_WAIT_ADDR_, IPI_WAIT_VAL = IPI_WAIT_VAL_;

/** waitVal meaning "wake me for any change of the word". */
export const WAIT_ANY = -1;
/** waitAddr of a CPU that waits for nothing. */
const NO_ADDR = -1;
/**
 * Upper bound of one sleep, in ms. Never needed for correctness (every
 * wake-up is a kick); it bounds the damage of a lost kick to a stall instead
 * of a hang, so that a bug here shows as slowness the bench sees rather
 * than a run the watchdog kills.
 */
export const SLEEP_BACKSTOP_MS = 250;

// This thread's CPU, if it is one. Module variables: one CPU per worker.
let wakeWords: Int32Array | null = null;
let wakeCpu = -1;
let wakeCpus = 0;
let wakeAt = 0;
let wakePending: () => boolean = never;
/** This thread's sleeps, and how many ended at the backstop instead of a ring (tests, diagnostics). */
let sleeps = 0;
let backstops = 0;
let lastWoken = true;

function never(): boolean {
  return false;
}

/**
 * Makes this thread simulated CPU `cpu` of `cpus` for the purpose of
 * sleeping: from now on its waits sleep on its wake word in `ipi` (the ipi
 * region) and are kicked by releasers. `pending` says whether work that
 * rings the wake word is already waiting for this CPU (a queued IPI, an
 * INVLPGB request): the poll before the sleep may have run just before it
 * arrived, and its ring may have come before the wake word was sampled, so
 * a sleep starts only when pending() is false after the sample. Call once
 * per CPU thread (the engine does); clearCpuWake() undoes it.
 */
export function installCpuWake(ipi: Int32Array, cpu: number, cpus: number, pending: () => boolean): void {
  wakePending = pending;
  wakeWords = ipi;
  wakeCpu = cpu;
  wakeCpus = cpus;
  wakeAt = cpu * IPI_STRIDE;
  Atomics.store(ipi, wakeAt + IPI_WAIT_ADDR, NO_ADDR);
}

export function clearCpuWake(): void {
  if (wakeWords !== null) Atomics.store(wakeWords, wakeAt + IPI_WAIT_ADDR, NO_ADDR);
  wakeWords = null;
  wakeCpu = -1;
  wakeCpus = 0;
  wakePending = never;
}

/** Whether this thread sleeps on a CPU wake word (else: on the lock word, with a timeout). */
export function hasCpuWake(): boolean {
  return wakeWords !== null;
}

/** The SAB-wide index of word a[i]: the identity of a lock or event across threads. */
export function wordAddr(a: Int32Array, i: number): number {
  return (a.byteOffset >>> 2) + i;
}

/**
 * First half of sleeping: publish what we wait for, mark ourselves parked,
 * and sample the wake word. The caller re-checks its condition after this
 * and then calls cpuSleep(seen) or cpuCancelSleep(). Needs installCpuWake.
 */
export function cpuPrepareSleep(addr: number, val: number): number {
  const w = wakeWords!;
  Atomics.store(w, wakeAt + IPI_WAIT_VAL, val);
  Atomics.store(w, wakeAt + IPI_WAIT_ADDR, addr);
  Atomics.store(w, wakeAt + IPI_PARKED, 1);
  return Atomics.load(w, wakeAt + IPI_DOORBELL);
}

/** Sleeps until the wake word moves from `seen` (a kick or an IPI), then withdraws the published wait. */
export function cpuSleep(seen: number): void {
  cpuSleepFor(seen, SLEEP_BACKSTOP_MS);
}

/** cpuSleep for at most timeoutMs (a caller with a deadline of its own). */
export function cpuSleepFor(seen: number, timeoutMs: number): void {
  const w = wakeWords!;
  if (!wakePending()) {
    sleeps++;
    lastWoken = Atomics.wait(w, wakeAt + IPI_DOORBELL, seen, timeoutMs < SLEEP_BACKSTOP_MS ? timeoutMs : SLEEP_BACKSTOP_MS) !== 'timed-out';
    if (!lastWoken) backstops++;
  }
  Atomics.store(w, wakeAt + IPI_PARKED, 0);
  Atomics.store(w, wakeAt + IPI_WAIT_ADDR, NO_ADDR);
}

/** The re-check after cpuPrepareSleep found the condition met: withdraw without sleeping. */
export function cpuCancelSleep(): void {
  const w = wakeWords!;
  Atomics.store(w, wakeAt + IPI_PARKED, 0);
  Atomics.store(w, wakeAt + IPI_WAIT_ADDR, NO_ADDR);
}

/** Rings `cpu`'s wake word; the futex wake (a host syscall) only if it sleeps. */
export function ringCpu(words: Int32Array, cpu: number): void {
  const at = cpu * IPI_STRIDE;
  Atomics.add(words, at + IPI_DOORBELL, 1);
  if (Atomics.load(words, at + IPI_PARKED) !== 0) Atomics.notify(words, at + IPI_DOORBELL);
}

/**
 * Kicks up to `max` CPUs sleeping for word `addr` (all of them for
 * Infinity): those waiting for `val` exactly, or for any change when val is
 * WAIT_ANY. Called by releasers that saw a nonzero sleeper count, after
 * they changed the condition. A thread that is no CPU has no table to scan
 * and kicks nobody; its releases still notify the lock word.
 */
export function kickWaiters(addr: number, val: number, max: number): void {
  const w = wakeWords;
  if (w === null) return;
  let kicked = 0;
  for (let c = 0; c < wakeCpus && kicked < max; c++) {
    const at = c * IPI_STRIDE;
    if (Atomics.load(w, at + IPI_WAIT_ADDR) !== addr) continue;
    if (val !== WAIT_ANY) {
      const want = Atomics.load(w, at + IPI_WAIT_VAL);
      if (want !== val && want !== WAIT_ANY) continue;
    }
    ringCpu(w, c);
    kicked++;
  }
}

/**
 * How long a wait outside src/sync (a csd ack, TLBSYNC, idle) may sleep on
 * the wake word before looking again: the backstop on a CPU thread, whose
 * every wake-up is a ring; a short park on other threads, which nobody rings.
 */
export function parkTimeoutMs(): number {
  return wakeWords !== null ? SLEEP_BACKSTOP_MS : PARK_TIMEOUT_MS;
}

let haltOk = true;

/**
 * Whether a CPU may halt (sleep on its wake word) outside src/sync's own
 * waits: csd acks, TLBSYNC, idle. False under the serialized engine, where
 * a halt would hold the run token; apicHalt then yields instead.
 */
export function haltAllowed(): boolean {
  return haltOk;
}

export function setHaltAllowed(ok: boolean): void {
  haltOk = ok;
}

/** Sleeps of this thread so far, those that ended at the timeout, and whether the last one was ended by a ring. */
export function wakeStats(): { sleeps: number; timeouts: number; lastWoken: boolean } {
  return { sleeps, timeouts: backstops, lastWoken };
}

/** This thread's CPU number, or -1 (for diagnostics). */
export function wakeCpuId(): number {
  return wakeCpu;
}
