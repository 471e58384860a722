// shrink: make a reproducing serialized case smaller while it still fails
// the same way (same failure signature), in the spirit of delta debugging
// (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing
// Input", TSE 2002): for each dimension, halve while the failure stays,
// then close in by smaller steps. The dimensions, in order: CPUs, ops per
// CPU, pct preemption bound, scenario options (each dropped back to its
// default), and the passes repeat while one of them gained, since fewer
// CPUs often allow fewer ops and the other way round.
//
// A smaller case is a different run: its schedule seed rarely gives the
// same interleaving at another CPU count. A candidate is therefore tried
// with its own schedule seed and then with a few others; the first that
// fails the same way is kept, so every step (and the result) is a real,
// exact replay line, not an estimate.

import { UsageError } from '../cli/errors.js';
import type { ReplayCase } from './replay-line.js';
import { runCase } from './run-case.js';
import { failureKey, type MatchMode } from './failure-site.js';

export interface ShrinkOptions {
  /** Schedule seeds tried per candidate besides its own (1, 2, ... skipping its own). */
  readonly seedsPerCandidate: number;
  /** Wall-time budget in seconds; the best case so far is returned when it runs out. */
  readonly budgetSeconds: number;
  readonly progress: (phase: string, done: number, total: number, note: string) => void;
  readonly stop: () => boolean;
  /** What "fails the same way" means: the same key under this mode (failure-site.ts); default site. */
  readonly match?: MatchMode;
}

export interface ShrinkResult {
  readonly start: ReplayCase;
  readonly smallest: ReplayCase;
  readonly signature: string;
  /** Serialized runs made, the start's check included. */
  readonly runs: number;
  /** Accepted reductions, in order, e.g. "cpus 4 -> 2". */
  readonly steps: readonly string[];
  /** True when the budget (or a signal) ended the search before it was done. */
  readonly cut: boolean;
}

/** The start case does not fail: there is nothing to shrink. */
export class NotReproducedError extends Error {
  override name = 'NotReproducedError';
}

/**
 * Shrinks `start`, which must fail (it is run first to learn its failure
 * signature). Throws NotReproducedError when it passes.
 */
export async function shrinkCase(start: ReplayCase, o: ShrinkOptions): Promise<ShrinkResult> {
  const t0 = performance.now();
  let runs = 0;
  let cut = false;
  const match = o.match ?? 'site';
  const first = await runCase(start);
  runs++;
  if (first.signature === null) throw new NotReproducedError('the case passed: it does not reproduce a failure, so there is nothing to shrink');
  // The failure to keep: its kind, and under match 'site' its site too.
  const signature = failureKey(first.outcome.report, match)!;
  const outOfTime = (): boolean => {
    if (o.stop() || (performance.now() - t0) / 1000 >= o.budgetSeconds) cut = true;
    return cut;
  };

  /** The candidate, or a reschedule of it, that still fails the same way; null if none. */
  const reproducing = async (c: ReplayCase, note: string): Promise<ReplayCase | null> => {
    const seeds = [c.schedSeed];
    for (let s = 1; seeds.length <= o.seedsPerCandidate; s++) if (s !== c.schedSeed) seeds.push(s);
    for (const schedSeed of seeds) {
      if (outOfTime()) return null;
      o.progress('shrink', runs, 0, `${note} sched-seed ${schedSeed}`);
      const cand = { ...c, schedSeed };
      let sig: string | null;
      try {
        sig = failureKey((await runCase(cand)).outcome.report, match);
      } catch (e) {
        // A reduction the scenario refuses (too few CPUs for its threads,
        // an option it needs) is simply not a smaller case.
        if (e instanceof UsageError) return null;
        throw e;
      } finally {
        runs++;
      }
      if (sig === signature) return cand;
    }
    return null;
  };

  let best = start;
  const steps: string[] = [];
  const accept = (c: ReplayCase, step: string): void => {
    best = c;
    steps.push(step);
  };

  /** Halve a numeric dimension while it reproduces, then binary-search the gap to the last failure. */
  const shrinkNumber = async (name: 'cpus' | 'ops' | 'preemptions', min: number): Promise<boolean> => {
    let gained = false;
    let hi = best[name];
    let lo = min - 1; // largest value known NOT to reproduce (min - 1: none known)
    while (hi > min && !outOfTime()) {
      const mid = Math.max(min, Math.floor(hi / 2));
      const got = await reproducing({ ...best, [name]: mid }, `${name} ${hi} -> ${mid}`);
      if (got === null) { lo = mid; break; }
      accept(got, `${name} ${hi} -> ${mid}${got.schedSeed !== best.schedSeed ? ` (sched seed ${got.schedSeed})` : ''}`);
      hi = mid;
      gained = true;
    }
    // Between a value that failed to reproduce and one that did: bisect.
    while (hi - lo > 1 && hi > min && !outOfTime()) {
      const mid = Math.floor((lo + hi) / 2);
      if (mid <= lo || mid >= hi) break;
      const got = await reproducing({ ...best, [name]: mid }, `${name} ${hi} -> ${mid}`);
      if (got === null) { lo = mid; continue; }
      accept(got, `${name} ${hi} -> ${mid}${got.schedSeed !== best.schedSeed ? ` (sched seed ${got.schedSeed})` : ''}`);
      hi = mid;
      gained = true;
    }
    return gained;
  };

  // Under `random` the preemption bound is unused (initSchedule draws
  // change points only for pct): write it as 0, checked like any step.
  if (best.sched === 'random' && best.preemptions !== 0) {
    const got = await reproducing({ ...best, preemptions: 0 }, 'preemptions (unused by random) -> 0');
    if (got !== null) accept(got, `preemptions ${best.preemptions} -> 0 (unused by random)`);
  }
  for (let pass = 0; pass < 3 && !outOfTime(); pass++) {
    let gained = false;
    gained = (await shrinkNumber('cpus', 1)) || gained;
    gained = (await shrinkNumber('ops', 1)) || gained;
    if (best.sched === 'pct') gained = (await shrinkNumber('preemptions', 0)) || gained;
    for (const key of Object.keys(best.options)) {
      if (outOfTime()) break;
      const { [key]: _dropped, ...rest } = best.options;
      const got = await reproducing({ ...best, options: rest }, `drop --option ${key}`);
      if (got !== null) {
        accept(got, `--option ${key}=${String(best.options[key])} dropped`);
        gained = true;
      }
    }
    if (!gained) break;
  }
  return { start, smallest: best, signature, runs, steps, cut };
}
