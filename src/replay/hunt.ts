// hunt: turn a failure of the free engine (real host concurrency, not
// repeatable) into an exact replay line. Phase one runs the free engine
// until some run fails; phase two runs the same configuration (scenario,
// seed, CPUs, memory, variant, bugs, options) on the serialized engine over
// a grid of schedules (op budget x policy x preemption bound x schedule
// seed) until one fails with the same signature; phase three replays that
// schedule once more (it must give the same digest, or the engine is not
// deterministic) and runs the first n schedule seeds of the same shape to
// say how often it reproduces.
//
// Why a grid and not only seeds: a race that needs a long history (a
// recycled ASID, a full pcp list) never shows in a short run, and one that
// needs a CPU preempted inside a narrow window is found far sooner by PCT's
// priority changes than by uniform picks, while a uniform schedule
// interleaves finely everywhere. Short budgets first: they are cheap and
// make the smallest replay lines.

import type { RunSpec } from '../cli/run-once.js';
import { runOnce } from '../cli/run-once.js';
import type { ReplayCase } from './replay-line.js';
import { failureSignature, runCase } from './run-case.js';
import { failureKey, type MatchMode } from './failure-site.js';
import { violationCount } from '../check/oracle.js';

/** How often a free run's oracle is looked at for an early stop. */
const WATCH_MS = 50;

/** The configuration to hunt in: everything but the engine and the schedule. */
export type HuntBase = Omit<ReplayCase, 'ops' | 'schedSeed' | 'sched' | 'preemptions'>;

/** One schedule shape of the search grid. */
export interface ScheduleShape {
  readonly ops: number;
  readonly sched: 'random' | 'pct';
  readonly preemptions: number;
}

/** Op budgets per CPU the search tries, cheapest first. */
export const HUNT_OPS_LADDER: readonly number[] = [100, 300, 1000, 3000];
/** Schedule shapes tried at each op budget, in order. */
const SHAPES_PER_BUDGET: readonly Omit<ScheduleShape, 'ops'>[] = [
  { sched: 'random', preemptions: 2 },
  { sched: 'pct', preemptions: 2 },
  { sched: 'pct', preemptions: 5 },
  { sched: 'random', preemptions: 2 },
  { sched: 'pct', preemptions: 10 },
];

/**
 * The t-th try of the search: a shape and a schedule seed. The grid is
 * walked budget by budget, each budget's shapes once, and then again with
 * new seeds, so a long search keeps trying every shape. maxOps caps the
 * budget (a hunt that must stay short).
 */
export function huntTry(t: number, maxOps: number, hintOps = 0): ScheduleShape & { schedSeed: number } {
  const ladder = huntLadder(maxOps, hintOps);
  const perRound = ladder.length * SHAPES_PER_BUDGET.length;
  const round = Math.floor(t / perRound);
  const inRound = t % perRound;
  const ops = ladder[Math.floor(inRound / SHAPES_PER_BUDGET.length)]!;
  const shape = SHAPES_PER_BUDGET[inRound % SHAPES_PER_BUDGET.length]!;
  // Distinct seeds for every try: the index in the round and the round.
  return { ops, ...shape, schedSeed: 1 + inRound + round * perRound };
}

/**
 * The op budgets of a search: the fixed ladder up to maxOps, plus the
 * budget the free run suggests (a little past the op at which its first
 * violation happened, 2 significant digits), since a race that needs a long
 * history showed there only after that many ops.
 */
export function huntLadder(maxOps: number, hintOps = 0): number[] {
  const ladder = HUNT_OPS_LADDER.filter((o) => o <= maxOps);
  if (hintOps > 0) {
    const want = Math.ceil(hintOps * 1.25);
    const unit = 10 ** Math.max(0, Math.floor(Math.log10(want)) - 1);
    ladder.push(Math.min(maxOps, Math.ceil(want / unit) * unit));
  }
  if (ladder.length === 0) ladder.push(maxOps);
  return [...new Set(ladder)].sort((a, b) => a - b);
}

export interface FreeFind {
  /** The failing free run's seed. */
  readonly seed: number;
  readonly signature: string;
  /** What the search must reproduce: the signature, with `site` matching also its site (failure-site.ts). */
  readonly key: string;
  /** Free runs made (the last one failed). */
  readonly runs: number;
  readonly seconds: number;
  /** The free run's own rerun line. */
  readonly rerun: string;
  /** The op (on its CPU) of the free run's first violation; 0 when the failure has no record. */
  readonly op: number;
}

export interface HuntProgress {
  (phase: 'free' | 'serialized' | 'sample', done: number, total: number, note: string): void;
}

/**
 * Phase one: free runs of `chunkSeconds` (seeds base.seed, +1, ...) until
 * one fails or `budgetSeconds` is spent; null when none failed.
 */
export async function huntFree(
  base: HuntBase, specOf: (c: ReplayCase) => RunSpec, budgetSeconds: number, chunkSeconds: number,
  progress: HuntProgress, stop: () => boolean, match: MatchMode = 'site',
): Promise<FreeFind | null> {
  const t0 = performance.now();
  for (let k = 0; ; k++) {
    const spent = (performance.now() - t0) / 1000;
    const left = budgetSeconds - spent;
    if (left <= 0.05 || stop()) return null;
    const seed = base.seed + k;
    progress('free', Math.round(spent), Math.round(budgetSeconds), `free engine, seed ${seed}`);
    // specOf builds a serialized spec; the free run drops the engine fields.
    const { engine: _e, schedSeed: _s, sched: _p, preemptions: _k, ops: _o, ...spec } = specOf({ ...base, seed, ops: 1, schedSeed: 1, sched: 'random', preemptions: 0 });
    // A run stops as soon as the oracle has a record: the rest of its time
    // would only count more of the same, and the next seed may be the one.
    const early = new AbortController();
    let watch: ReturnType<typeof setInterval> | undefined;
    let report;
    try {
      ({ report } = await runOnce({
        ...spec, seconds: Math.min(chunkSeconds, Math.max(0.1, left)), interrupt: early.signal,
        onMachine: (mem) => {
          watch = setInterval(() => {
            if (violationCount(mem.views) > 0 || stop()) early.abort();
          }, WATCH_MS);
        },
      }));
    } finally {
      clearInterval(watch);
    }
    const signature = failureSignature(report);
    if (signature !== null) {
      const record = (report['violationRecords'] as { op: number }[])[0];
      return { seed, signature, key: failureKey(report, match)!, runs: k + 1, seconds: (performance.now() - t0) / 1000, rerun: String(report['rerun'] ?? ''), op: record?.op ?? 0 };
    }
  }
}

export interface SerializedFind {
  readonly found: ReplayCase;
  /** Serialized runs the search made (the last one reproduced). */
  readonly tries: number;
  readonly seconds: number;
  readonly digest: string;
}

/**
 * Phase two: the schedule grid, at most `tries` runs or `budgetSeconds`,
 * until a run fails with `key` (failureKey under `match`). null when none did.
 */
export async function huntSerialized(
  base: HuntBase, key: string, tries: number, budgetSeconds: number, maxOps: number,
  progress: HuntProgress, stop: () => boolean, hintOps = 0, match: MatchMode = 'site',
): Promise<SerializedFind | null> {
  const t0 = performance.now();
  for (let t = 0; t < tries; t++) {
    if ((performance.now() - t0) / 1000 >= budgetSeconds || stop()) return null;
    const shape = huntTry(t, maxOps, hintOps);
    const c: ReplayCase = { ...base, ...shape };
    progress('serialized', t, tries, `ops ${c.ops} ${c.sched}${c.sched === 'pct' ? ` k=${c.preemptions}` : ''} sched-seed ${c.schedSeed}`);
    const r = await runCase(c);
    if (failureKey(r.outcome.report, match) === key) {
      return { found: c, tries: t + 1, seconds: (performance.now() - t0) / 1000, digest: String(r.outcome.report['digest']) };
    }
  }
  return null;
}

export interface ReproductionRate {
  /** Schedule seeds 1..n of the found shape that reproduced the signature. */
  readonly reproduced: number;
  readonly of: number;
  /** The found line run again gave the same digest (an exact replay). */
  readonly exact: boolean;
}

/**
 * Phase three: replays the found case once (exactness) and runs schedule
 * seeds 1..n of its shape (same ops, policy, preemptions); a seed counts
 * when it fails with the same key.
 */
export async function reproductionRate(
  found: ReplayCase, key: string, digest: string, n: number, progress: HuntProgress, stop: () => boolean, match: MatchMode = 'site',
): Promise<ReproductionRate> {
  const again = await runCase(found);
  const exact = failureKey(again.outcome.report, match) === key && String(again.outcome.report['digest']) === digest;
  let reproduced = 0;
  let of = 0;
  for (let s = 1; s <= n && !stop(); s++) {
    progress('sample', s - 1, n, `sched-seed ${s}`);
    const r = s === found.schedSeed ? again : await runCase({ ...found, schedSeed: s });
    of++;
    if (failureKey(r.outcome.report, match) === key) reproduced++;
  }
  return { reproduced, of, exact };
}
