// Reading V8 .cpuprofile files (the format node --cpu-prof, the inspector's
// Profiler domain and Chrome DevTools share): a tree of nodes, each with a
// call frame, and a list of samples naming the node that was on top, with
// the time since the previous sample. Self time of a node = the sum of the
// deltas of the samples that name it.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** The parts of a V8 CPU profile this module reads. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** One function's merged self time. */
export interface SelfTime {
  /** "name (file:line)", lines 1-based; "(program)", "(garbage collector)", "(idle)" as V8 names them. */
  readonly fn: string;
  /** Microseconds of samples with this function on top, over every profile merged. */
  readonly selfUs: number;
  /** Share of all sampled time (idle included), 0..1. */
  readonly share: number;
}

/** Parses a .cpuprofile; throws a TypeError naming the file when it is not one. */
export function readCpuProfile(file: string): CpuProfile {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Partial<CpuProfile>;
  if (!Array.isArray(p.nodes) || !Array.isArray(p.samples) || !Array.isArray(p.timeDeltas)) {
    throw new TypeError(`${file} is not a V8 CPU profile (needs nodes, samples, timeDeltas)`);
  }
  return p as CpuProfile;
}

function frameName(cf: CpuProfile['nodes'][number]['callFrame']): string {
  const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
  if (cf.url === '') return name;
  const file = basename(cf.url.replace(/^file:\/\//, ''));
  return `${name} (${file}:${cf.lineNumber + 1})`;
}

/** Adds each function's self time in `p` to `into` (µs by function name). */
export function addSelfTimes(p: CpuProfile, into: Map<string, number>): void {
  const nameById = new Map<number, string>();
  for (const n of p.nodes) nameById.set(n.id, frameName(n.callFrame));
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; charge it to sample i-1's
  // node, which was running during it (the first delta is start-up).
  for (let i = 1; i < samples.length; i++) {
    const name = nameById.get(samples[i - 1]!) ?? '(unknown)';
    into.set(name, (into.get(name) ?? 0) + Math.max(0, deltas[i]!));
  }
}

/**
 * Functions of ours that block in Atomics.wait (a CPU asleep on its wake
 * word, parked at the start barrier, waiting for the serialized engine's
 * token, or a thread that is no CPU parked on a lock word). V8's profiler
 * samples wall time, so a sleeping thread shows as self time of the
 * function that sleeps: with more simulated CPUs than host cores most of
 * the samples are these, and they say how long CPUs waited, not what the
 * host ran. Some of them spin a little before sleeping; both are waiting.
 * test/profile/profile-command.test.ts checks this list against the
 * sources (every function that calls Atomics.wait, and nothing else).
 */
export const WAIT_FUNCTIONS: ReadonlySet<string> = new Set([
  'cpuSleepFor', 'apicHalt', 'startBarrier', 'waitForToken', 'sleepWhileEquals', 'rwsemPark',
  'readSeqbeginSlow', 'waitForCompletionSlow', 'mutexLockSlow', 'hangInHandler',
]);

/** Whether a merged entry ("name (file:line)") is one of WAIT_FUNCTIONS. */
export function isWaitFunction(fn: string): boolean {
  const sp = fn.indexOf(' (');
  return WAIT_FUNCTIONS.has(sp < 0 ? fn : fn.slice(0, sp));
}

/**
 * The top `n` functions by self time over several profiles merged, leaving
 * out `(idle)` (a CPU parked in Atomics.wait shows as program/idle, not
 * as work) unless includeIdle, and the WAIT_FUNCTIONS when leaveOutWaits
 * (waitingTimes() lists those). Shares are of all sampled time.
 */
export function topSelfTimes(profiles: readonly CpuProfile[], n: number, includeIdle = false, leaveOutWaits = false): SelfTime[] {
  const { entries, total } = mergedSelfTimes(profiles);
  return entries
    .filter(([fn]) => (includeIdle || fn !== '(idle)') && !(leaveOutWaits && isWaitFunction(fn)))
    .slice(0, n)
    .map(([fn, selfUs]) => ({ fn, selfUs, share: total > 0 ? selfUs / total : 0 }));
}

/** The WAIT_FUNCTIONS' merged self times, largest first; shares are of all sampled time. */
export function waitingTimes(profiles: readonly CpuProfile[]): SelfTime[] {
  const { entries, total } = mergedSelfTimes(profiles);
  return entries.filter(([fn]) => isWaitFunction(fn)).map(([fn, selfUs]) => ({ fn, selfUs, share: total > 0 ? selfUs / total : 0 }));
}

function mergedSelfTimes(profiles: readonly CpuProfile[]): { entries: [string, number][]; total: number } {
  const m = new Map<string, number>();
  for (const p of profiles) addSelfTimes(p, m);
  let total = 0;
  for (const v of m.values()) total += v;
  return { entries: [...m.entries()].sort((a, b) => b[1] - a[1]), total };
}

/** One line: the waiting functions' total share and the largest three. */
export function formatWaiting(waits: readonly SelfTime[]): string {
  const share = waits.reduce((t, w) => t + w.share, 0);
  const parts = waits.slice(0, 3).map((w) => `${w.fn.replace(/ \(.*$/, '')} ${(w.share * 100).toFixed(1)}%`);
  return `waiting (asleep or spinning in Atomics.wait callers): ${(share * 100).toFixed(1)}% of sampled time${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** The top list as text lines: share, milliseconds, function. */
export function formatTopSelfTimes(top: readonly SelfTime[]): string {
  return top.map((t) => `${(t.share * 100).toFixed(1).padStart(5)}%  ${(t.selfUs / 1000).toFixed(1).padStart(9)} ms  ${t.fn}`).join('\n');
}
