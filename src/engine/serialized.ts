// The serialized engine (DESIGN.md "One CPU, two schedulers"): the same CPU
// workers as the free engine, but only the holder of a run token executes.
// At every scheduling point (each spin of a wait loop, each kernel
// interleaving point, each op boundary, each unit of a hardware or I/O
// delay) the holder asks a seeded scheduler which CPU runs next and hands
// the token over. The scheduler's state lives in the control region and is
// advanced only by the token holder, so the same scenario, seed and
// schedule seed give the same sequence of decisions, hence the same run.
//
// What that needs from the rest of the program, and where it is done:
// - nobody sleeps holding the token: src/sync never parks (SPIN_BEFORE_WAIT
//   = Infinity) and apicHalt yields instead of halting (haltAllowed);
// - no host time reaches kernel behaviour: delays become scheduling points
//   and the kernel clock counts decisions (src/sync/hook.ts setVirtualTime);
// - the run ends by op budget, never by wall time.
//
// Policies: `random` picks uniformly among the CPUs still in the run,
// preferring CPUs that are not spinning in a wait (a spinner that gets the
// token mostly looks and hands it on); `pct` runs the CPU of highest priority
// among those not waiting and, at `preemptions` seeded steps, drops the
// running CPU below all others (Burckhardt et al., "A Randomized Scheduler
// with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010). With every
// CPU waiting, both pick at random, so a CPU whose wait is over gets to see
// it.

import {
  CONTROL_SCHED_CHANGE_AT, CONTROL_SCHED_GONE, CONTROL_SCHED_PRIORITY, CONTROL_SCHED_RNG, CONTROL_SCHED_STEPS,
  CONTROL_SCHED_TOKEN, CONTROL_SCHED_TURN, CONTROL_SCHED_WAITING, CONTROL_STOP, COUNTERS_STRIDE,
} from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { RunStopped, STOP_ABORT } from '../kernel/smp.js';
import { SITE_CSD_UNLOCKED, SITE_SWITCH_MM_WINDOW } from '../kernel/points.js';
import { setKernelPointHook, setSpinBeforeWait, setSpinHook, setVirtualTime } from '../sync/hook.js';
import { setHaltAllowed } from '../sync/wake.js';
import { xorshift32 } from '../xorshift.js';

export type SchedPolicy = 'random' | 'pct';
export const SCHED_POLICIES: readonly SchedPolicy[] = ['random', 'pct'];
/** Most preemption points a pct schedule may have (the control region's schedChangeAt). */
export const MAX_PREEMPTIONS = 16;
/** Virtual clock rate: scheduling decisions per simulated millisecond. */
export const STEPS_PER_MS = 1000;

const TOKEN_WAIT_MS = 20;

// ---- main thread -------------------------------------------------------------

/**
 * Puts a machine's scheduler words in their start state: CPU 0 holds the
 * token; the schedule's random stream comes from schedSeed; for pct, each
 * CPU gets a distinct random priority and `preemptions` change points are
 * drawn in 1..expectedSteps.
 */
export function initSchedule(
  mem: MachineMemory, schedSeed: number, policy: SchedPolicy, preemptions: number, expectedSteps: number,
): void {
  const c = mem.views.control;
  const cpus = mem.layout.shape.cpus;
  let s = mix(schedSeed);
  const next = (): number => {
    s = xorshift32(s) >>> 0;
    return s;
  };
  // Priorities: a seeded permutation of 1..cpus (pct), all equal otherwise.
  const prio = Array.from({ length: cpus }, (_, i) => i + 1);
  for (let i = cpus - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [prio[i], prio[j]] = [prio[j]!, prio[i]!];
  }
  for (let cpu = 0; cpu < 64; cpu++) c[CONTROL_SCHED_PRIORITY + cpu] = policy === 'pct' && cpu < cpus ? prio[cpu]! : 0;
  for (let i = 0; i < MAX_PREEMPTIONS; i++) {
    c[CONTROL_SCHED_CHANGE_AT + i] = policy === 'pct' && i < preemptions ? 1 + (next() % Math.max(1, expectedSteps)) : -1;
  }
  c[CONTROL_SCHED_RNG] = next() | 1;
  c[CONTROL_SCHED_STEPS] = 0;
  c[CONTROL_SCHED_GONE] = 0;
  c[CONTROL_SCHED_GONE + 1] = 0;
  c[CONTROL_SCHED_WAITING] = 0;
  c[CONTROL_SCHED_WAITING + 1] = 0;
  Atomics.store(c, CONTROL_SCHED_TOKEN, 0);
}

function mix(seed: number): number {
  let z = Math.imul((seed | 0) ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z = (z ^ (z >>> 15)) >>> 0;
  return z === 0 ? 0x6d2b79f5 : z;
}

/** Scheduling decisions the run took (after it). */
export function scheduleSteps(mem: MachineMemory): number {
  return Atomics.load(mem.views.control, CONTROL_SCHED_STEPS);
}

/**
 * A digest of what a run did that a deterministic engine must reproduce:
 * every CPU's counters, trace ring and ring head, the oracle's record, and
 * the number of scheduling decisions (FNV-1a over the words, hex).
 * Host-time words (watchdog stamps, run lengths) are not in it.
 */
export function runDigest(mem: MachineMemory): string {
  const v = mem.views;
  let h = 0x811c9dc5;
  const word = (x: number): void => {
    h = Math.imul(h ^ (x & 0xff), 0x01000193);
    h = Math.imul(h ^ ((x >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((x >>> 16) & 0xff), 0x01000193);
    h = Math.imul(h ^ (x >>> 24), 0x01000193);
  };
  for (const x of v.counters) word(x | 0), word(Math.floor(x / 2 ** 32));
  for (const x of v.trace) word(x);
  for (const x of v.traceHead) word(x);
  for (const x of v.oracle) word(x);
  for (const x of v.oracleRecord) word(x);
  word(scheduleSteps(mem));
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Which counter or trace word first differs between two machines' runs (for --check-determinism). */
export function firstDifference(a: MachineMemory, b: MachineMemory): string | null {
  const cpus = a.layout.shape.cpus;
  const ca = a.views.counters;
  const cb = b.views.counters;
  for (let i = 0; i < ca.length; i++) {
    if (ca[i] !== cb[i]) return `counter word ${i % COUNTERS_STRIDE} of CPU ${Math.floor(i / COUNTERS_STRIDE)}: ${ca[i]} vs ${cb[i]}`;
  }
  const ta = a.views.trace;
  const tb = b.views.trace;
  const per = ta.length / cpus;
  for (let i = 0; i < ta.length; i++) {
    if (ta[i] !== tb[i]) return `trace ring of CPU ${Math.floor(i / per)}, word ${i % per}: ${ta[i]} vs ${tb[i]}`;
  }
  const sa = scheduleSteps(a);
  const sb = scheduleSteps(b);
  if (sa !== sb) return `scheduling decisions: ${sa} vs ${sb}`;
  const oa = a.views.oracle;
  const ob = b.views.oracle;
  for (let i = 0; i < oa.length; i++) if (oa[i] !== ob[i]) return `oracle word ${i}: ${oa[i]} vs ${ob[i]}`;
  const ra = a.views.oracleRecord;
  const rb = b.views.oracleRecord;
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return `violation record word ${i}: ${ra[i]} vs ${rb[i]}`;
  return null;
}

// ---- CPU worker ----------------------------------------------------------------

let ctl: Int32Array = new Int32Array(0);
let me = 0;
let nCpus = 0;
let policy: SchedPolicy = 'random';
let poll: () => void = noop;
let epoch = 0;

function noop(): void {}

/**
 * Makes this CPU worker run under the serialized engine: every wait spin,
 * kernel point and delay becomes a scheduling point. `pollIpis` is the
 * program's poll (taking IPIs at a point where interrupts may be on).
 */
export function installSerialized(control: Int32Array, cpu: number, cpus: number, pol: SchedPolicy, pollIpis: () => void, epochMs: number): void {
  ctl = control;
  me = cpu;
  nCpus = cpus;
  policy = pol;
  poll = pollIpis;
  epoch = epochMs;
  setSpinBeforeWait(Infinity);
  setHaltAllowed(false);
  setSpinHook(waitPoint);
  setKernelPointHook(kernelSchedPoint);
  setVirtualTime(delayPoint, virtualClock);
}

export function removeSerialized(): void {
  setSpinBeforeWait(200);
  setHaltAllowed(true);
  setKernelPointHook(null);
  setVirtualTime(null, null);
}

function virtualClock(): number {
  return epoch + Atomics.load(ctl, CONTROL_SCHED_STEPS) / STEPS_PER_MS;
}

/** A spin of a wait loop: take IPIs, then let the scheduler pick, marked as waiting. */
function waitPoint(): void {
  poll();
  schedule(true);
}

/**
 * Sites where this CPU yields as if it were waiting: the start of a stretch
 * of work that takes long on real hardware while other CPUs run on. After
 * an IPI's csd is unlocked, the function (a TLB flush) still has to run,
 * but the sender, a spinner until now, is free: a CPU marked waiting is
 * picked only in the scheduler's look-at-everyone decisions, so the sender
 * and the others get a stretch of steps to use the window (free the page,
 * reuse the frame) before the flush lands, as they do in the free engine.
 * Without it the receiver, ready and preferred over spinners, runs its
 * function at once and ack-before-flush never shows. Likewise inside
 * switch_mm's SWITCHING window (CR3 written, loaded_mm not yet next): the
 * hardware is prefetching translations there, and a flusher must get
 * steps to read SWITCHING (ignore-switching-window).
 */
const SLOW_SITE_MASK = (1 << SITE_CSD_UNLOCKED) | (1 << SITE_SWITCH_MM_WINDOW);

function kernelSchedPoint(site: number): void {
  poll();
  schedule(((SLOW_SITE_MASK >>> site) & 1) !== 0);
}

function delayPoint(): void {
  schedule(false);
}

/** The op boundary: a scheduling point where this CPU is not waiting. */
export function opBoundary(): void {
  schedule(false);
}

/** Blocks until this CPU holds the token (the start, and after every handoff). */
export function waitForToken(): void {
  // Each CPU sleeps on its own turn word, so a handoff wakes exactly the
  // CPU it names. Sample the word before testing the token: a handoff
  // after the test bumps it and the wait returns at once.
  const turnAt = CONTROL_SCHED_TURN + me;
  for (;;) {
    const seen = Atomics.load(ctl, turnAt);
    if (Atomics.load(ctl, CONTROL_SCHED_TOKEN) === me) return;
    if (Atomics.load(ctl, CONTROL_STOP) === STOP_ABORT) throw new RunStopped();
    Atomics.wait(ctl, turnAt, seen, TOKEN_WAIT_MS);
  }
}

/** This CPU leaves the run (its op loop and quiescence are over): never picked again. */
export function leaveSchedule(): void {
  Atomics.or(ctl, CONTROL_SCHED_GONE + (me >>> 5), 1 << (me & 31));
  if (Atomics.load(ctl, CONTROL_SCHED_TOKEN) !== me) return;
  const next = pick(true);
  if (next >= 0) handTo(next);
}

function schedule(waiting: boolean): void {
  const bit = 1 << (me & 31);
  const w = CONTROL_SCHED_WAITING + (me >>> 5);
  // Plain stores: only the token holder touches the scheduler words, and
  // the token handoff (an Atomics store and wait) orders them.
  ctl[w] = waiting ? ctl[w]! | bit : ctl[w]! & ~bit;
  const steps = ctl[CONTROL_SCHED_STEPS]! + 1;
  ctl[CONTROL_SCHED_STEPS] = steps;
  if (policy === 'pct') {
    for (let i = 0; i < MAX_PREEMPTIONS; i++) {
      if (ctl[CONTROL_SCHED_CHANGE_AT + i] === steps) ctl[CONTROL_SCHED_PRIORITY + me] = -i - 1;
    }
  }
  const next = pick(false);
  if (next !== me && next >= 0) {
    handTo(next);
    waitForToken();
  }
}

function handTo(next: number): void {
  Atomics.store(ctl, CONTROL_SCHED_TOKEN, next);
  Atomics.add(ctl, CONTROL_SCHED_TURN + next, 1);
  Atomics.notify(ctl, CONTROL_SCHED_TURN + next, 1);
}

function gone(c: number): boolean {
  return (ctl[CONTROL_SCHED_GONE + (c >>> 5)]! & (1 << (c & 31))) !== 0;
}

function waitingCpu(c: number): boolean {
  return (ctl[CONTROL_SCHED_WAITING + (c >>> 5)]! & (1 << (c & 31))) !== 0;
}

function random(): number {
  const s = xorshift32(ctl[CONTROL_SCHED_RNG]!);
  ctl[CONTROL_SCHED_RNG] = s;
  return s >>> 0;
}

/**
 * The next CPU to run: among those in the run and not waiting (all of them
 * when every one waits), uniformly (random) or the highest priority (pct).
 * -1 when nobody is left. `excludeSelf` when this CPU is leaving.
 */
function pick(excludeSelf: boolean): number {
  let ready = 0;
  let alive = 0;
  let best = -1;
  let bestPrio = -Infinity;
  for (let c = 0; c < nCpus; c++) {
    if (gone(c) || (excludeSelf && c === me)) continue;
    alive++;
    if (waitingCpu(c)) continue;
    ready++;
    const p = ctl[CONTROL_SCHED_PRIORITY + c]!;
    if (p > bestPrio) {
      bestPrio = p;
      best = c;
    }
  }
  if (alive === 0) return -1;
  const r = random();
  // One decision in four (random) or eight (pct) looks at every CPU, so a
  // waiter whose wait is over gets to notice while others are still ready.
  const everyone = ready === 0 || (r >>> 29) < (policy === 'pct' ? 1 : 2);
  if (!everyone && policy === 'pct') return best;
  // Uniform among the ready CPUs, or among all the alive ones when every
  // one is waiting.
  let k = (r & 0x1fffffff) % (everyone ? alive : ready);
  for (let c = 0; c < nCpus; c++) {
    if (gone(c) || (excludeSelf && c === me)) continue;
    if (!everyone && waitingCpu(c)) continue;
    if (k-- === 0) return c;
  }
  return -1;
}
