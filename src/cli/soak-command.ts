// `shootdown soak`: many (scenario, seed) runs, one after another, with a
// deterministic --shard i/n split so a CI matrix can spread them over
// machines. Without --inject every run must pass its checks; with --inject
// every run must catch the bug (a detection sweep).

import { join } from 'node:path';
import { SCENARIOS, findScenario, optionsKnownTo, UnknownScenarioError } from '../workloads/index.js';
import { setInjected } from '../check/bugs.js';
import { encodeReportFile } from '../report/report-file.js';
import type { RunReportObject } from '../report/run-report.js';
import { OutputWriteError, writeOutputFile } from './output-files.js';
import { InterruptGuard, InterruptedError } from './interrupt.js';
import { progressWanted, seriesProgress } from './progress.js';
import { logger } from './logger.js';
import { restoreTerminal } from './terminal.js';
import { TOOL_VERSION } from './version.js';
import { runJitMode } from '../engine/worker-jit.js';
import { jobFileName, prepareSoakDir, summaryFileName, traceFileName } from './soak-dir.js';
import { CheckFailedError, UsageError } from './errors.js';
import { FORMATS } from './format.js';
import { renderSummary } from './render-report.js';
import { assertHostCanHold, shapeFromOptions } from './machine-options.js';
import { parseChoice, parseIntInRange } from './parse.js';
import { parseSeconds, parseVariantOption } from './run-command.js';
import { checkRunSpec, failuresOf, rerunCommand, runOnce } from './run-once.js';
import { parseTestCrash } from './test-crash.js';
import type { TestFaults } from '../workloads/index.js';

/** --minutes: a positive number, at most a week. */
function parseMinutes(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !(n > 0) || n > 7 * 24 * 60) {
    throw new UsageError(`--minutes "${text}" is not a duration: use a number of minutes above 0 and at most ${7 * 24 * 60} (7 days), e.g. 30 or 0.5`);
  }
  return n;
}

/** Hidden --test-crash of soak: SEED:CPU:OP[:throw|exit]. */
function parseSoakCrash(text: string, cpus: number): { seed: number; faults: TestFaults } {
  const m = /^(\d+):(.*)$/.exec(text.trim());
  if (!m) throw new UsageError(`--test-crash "${text}" is not SEED:CPU:OP[:throw|exit] (e.g. 2:1:300:exit)`);
  return { seed: Number(m[1]), faults: parseTestCrash('--test-crash', m[2]!, cpus) };
}
import { defaultMemFor, parseScenarioOptions } from './scenario-options.js';
import { TRACE_MODES } from '../trace/file.js';
import { FULL_TRACE_RING_ENTRIES } from '../trace/record.js';

export interface SoakOptions {
  scenarios?: string;
  seeds: string;
  seedStart: string;
  seconds: string;
  cpus: string;
  mem?: string;
  option: string[];
  variant: string;
  inject: string[];
  shard: string;
  out?: string;
  resume?: boolean;
  force?: boolean;
  watchdogMs: string;
  format: string;
  progress?: boolean;
  /** Trace files (issue 10): ring or full, one <scenario>-seed<N>.trc per run in --out. */
  trace?: string;
  /** Total time budget in minutes: runs go on (seeds upward) until it is spent; --seeds is then unlimited. */
  minutes?: string;
  /** Go on past failed runs (each recorded); without it the soak stops at the first. */
  keepGoing?: boolean;
  /** Fault-survival tests only (hidden): SEED:CPU:OP[:throw|exit] crashes one CPU of the runs with that seed. */
  testCrash?: string;
}

export interface Job {
  readonly scenario: string;
  readonly seed: number;
}

interface JobResult extends Job {
  readonly passed: boolean;
  readonly violations: number;
  readonly framesLost: number;
  readonly opsPerSec: number;
  readonly failures: readonly string[];
  /** The command that reruns this configuration (not an exact replay). */
  readonly rerun: string;
  /** Kept from an earlier soak's report file (--resume), not run now. */
  readonly resumed: boolean;
  /** A CPU fault or watchdog report (first line), empty when the run ended normally. */
  readonly fault: string;
}

/** Tag of summary files, so `report show` and --resume know what they read. */
export const SUMMARY_FORMAT = 'shootdown-soak-summary/1';

function jobResult(job: Job, report: RunReportObject, failures: readonly string[], detecting: boolean, resumed: boolean): JobResult {
  const totals = report['totals'] as Record<string, number>;
  const caught = totals['violations']! > 0 || String(report['stoppedBy']) === 'watchdog';
  return {
    ...job,
    passed: detecting ? caught : failures.length === 0,
    violations: totals['violations']!,
    framesLost: totals['framesLost']!,
    opsPerSec: report['opsPerSec'] as number,
    failures,
    rerun: String(report['rerun'] ?? ''),
    resumed,
    fault: String(report['fault'] ?? '').split('\n')[0]!,
  };
}

/** "i/n", 1-based like vitest's --shard. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) {
    throw new UsageError(`--shard "${text}" is invalid: use i/n with 1 <= i <= n (e.g. 2/4)`);
  }
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** Every (scenario, seed) pair in a fixed order; shard i of n takes every n-th starting at i. */
export function soakJobs(scenarios: readonly string[], seeds: number, seedStart: number, shard: { index: number; count: number }): Job[] {
  const all: Job[] = [];
  for (const scenario of scenarios) for (let k = 0; k < seeds; k++) all.push({ scenario, seed: seedStart + k });
  return all.filter((_, i) => i % shard.count === shard.index - 1);
}

/**
 * --minutes: an endless job order, seed by seed (every scenario at seed s,
 * then s + 1, ...), so a time-bounded soak covers all scenarios evenly
 * whenever it is cut off. Shard i of n takes every n-th job; the first
 * `count` of the shard's jobs.
 */
export function timedSoakJobs(scenarios: readonly string[], seedStart: number, shard: { index: number; count: number }, count: number): Job[] {
  const out: Job[] = [];
  for (let i = shard.index - 1; out.length < count; i += shard.count) {
    out.push({ scenario: scenarios[i % scenarios.length]!, seed: seedStart + Math.floor(i / scenarios.length) });
  }
  return out;
}

/** Most runs a --minutes soak plans ahead (its output directory is checked for all of them). */
const TIMED_SOAK_MAX_RUNS = 100_000;


function parseScenarios(text: string | undefined): string[] {
  if (text === undefined) return SCENARIOS.map((s) => s.name);
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  try {
    for (const n of names) findScenario(n);
  } catch (e) {
    if (e instanceof UnknownScenarioError) throw new UsageError(`--scenarios: ${e.message}`);
    throw e;
  }
  if (names.length === 0) throw new UsageError('--scenarios is empty: name at least one scenario (see run --list)');
  return names;
}

export async function runSoak(o: SoakOptions, print: (t: string) => void): Promise<void> {
  const format = parseChoice('--format', o.format, FORMATS);
  const scenarios = parseScenarios(o.scenarios);
  const seeds = parseIntInRange('--seeds', o.seeds, 1, 1_000_000);
  const seedStart = parseIntInRange('--seed-start', o.seedStart, 0, 2 ** 32 - 1 - seeds);
  const seconds = parseSeconds(o.seconds);
  const minutes = o.minutes !== undefined ? parseMinutes(o.minutes) : null;
  const variant = parseVariantOption(o.variant);
  const watchdogMs = parseIntInRange('--watchdog-ms', o.watchdogMs, 10, 3_600_000);
  const shard = parseShard(o.shard);
  setInjected(o.inject);
  const scenarioOptions = parseScenarioOptions(o.option);
  // A soak mixes scenarios: each key must be one that some of them read, and
  // each run gets only the keys its scenario reads.
  const optionsFor = (scenario: string) => optionsKnownTo(findScenario(scenario), scenarioOptions);
  for (const key of Object.keys(scenarioOptions)) {
    if (!scenarios.some((n) => key in optionsFor(n))) {
      throw new UsageError(`--option ${key}: none of the soaked scenarios (${scenarios.join(', ')}) has that option`);
    }
  }
  // A full trace needs rings that hold the events between two drains (src/trace/record.ts).
  const ringFor = o.trace === 'full' ? { traceEntries: FULL_TRACE_RING_ENTRIES } : {};
  const shapeFor = (scenario: string) => shapeFromOptions({ mem: o.mem ?? defaultMemFor(scenario, shapeFromOptions({ cpus: o.cpus }).cpus), cpus: o.cpus }, ringFor);
  for (const name of scenarios) assertHostCanHold(shapeFor(name));
  const detecting = o.inject.length > 0;
  const jobs = minutes !== null ? timedSoakJobs(scenarios, seedStart, shard, TIMED_SOAK_MAX_RUNS) : soakJobs(scenarios, seeds, seedStart, shard);
  const crash = o.testCrash !== undefined ? parseSoakCrash(o.testCrash, shapeFor(scenarios[0]!).cpus) : null;
  const shardText = `${shard.index}/${shard.count}`;
  const provenance = {
    // A --minutes soak has no seed count (runs go on, seed after seed, until
    // the time is spent): its summary says 0 and its results say which ran.
    format: SUMMARY_FORMAT, toolVersion: TOOL_VERSION, shard: shardText, scenarios, seeds: minutes !== null ? 0 : seeds, seedStart, secondsPerRun: seconds,
    cpus: shapeFor(scenarios[0]!).cpus, mem: o.mem ?? 'scenario default', memBytes: Object.fromEntries(scenarios.map((n) => [n, shapeFor(n).memBytes])),
    variant, inject: o.inject, options: scenarioOptions, watchdogMs,
    minutes: minutes ?? 0, keepGoing: o.keepGoing === true,
    // Every run has the same CPU count and the free engine, so one mode for
    // all: the engine's own choice (each run's report records it too).
    workerJit: runJitMode('free', shapeFor(scenarios[0]!).cpus),
  };
  // Every scenario's set-up once before the first run: an option one of
  // them refuses stops the soak here, not after hours of results.
  for (const name of new Set(jobs.map((j) => j.scenario))) {
    checkRunSpec({ scenario: name, shape: shapeFor(name), seed: seedStart, variant, inject: o.inject, watchdogMs, seconds, options: optionsFor(name) });
  }
  const traceMode = o.trace !== undefined ? parseChoice('--trace', o.trace, TRACE_MODES) : null;
  if (traceMode !== null && o.out === undefined) throw new UsageError('--trace needs --out DIR: each run\'s trace is written there beside its report');
  if ((o.resume || o.force) && o.out === undefined) throw new UsageError(`--${o.resume ? 'resume' : 'force'} needs --out DIR: it decides what happens to the results already in DIR`);
  // The output directory is checked, and a used one refused, before the first run (after the option checks: --force deletes).
  const out = o.out !== undefined ? prepareSoakDir(o.out, jobs, shard, { resume: o.resume === true, force: o.force === true }, { cpus: provenance.cpus, variant, inject: o.inject, seconds }) : null;
  // --resume with traces: say which trace files went (an unfinished run's trace is never kept beside a rerun).
  for (const t of out?.removedTraces ?? []) process.stderr.write(`soak: --resume removed trace ${t}\n`);


  const progress = o.progress !== false && format === 'table';
  const showBar = progressWanted(progress);
  let interruptedRun: string | null = null;
  // A --minutes soak has no run count to show a bar against: it prints a line per run.
  const barShown = showBar && minutes === null;
  // Where no bar is drawn (not a terminal, CI, --minutes) a line per run
  // says what runs; --no-progress asks for neither.
  const runLines = progress && !barShown;
  const bar = seriesProgress(barShown, 'soak', jobs.length, undefined);
  const results: JobResult[] = [];
  const guard = new InterruptGuard().install();
  let writeError: OutputWriteError | null = null;
  let stoppedAtFailure: string | null = null;
  let timeUp = false;
  const t0 = performance.now();
  // Counts and clock: in the final summary and in every file rewritten
  // during the soak, which is what a crash leaves.
  const tally = () => ({
    runs: results.length, passed: results.filter((r) => r.passed).length,
    faults: results.filter((r) => r.fault !== '').length, elapsedSeconds: (performance.now() - t0) / 1000,
  });
  const summaryNow = (running: Job | null, rerun: string): Record<string, unknown> => ({
    ...provenance,
    complete: false, interrupted: guard.which !== null, interruptSignal: guard.which ?? '',
    ...(running !== null ? { running: { ...running, rerun } } : {}),
    jobs: minutes !== null ? results.length + (running !== null ? 1 : 0) : jobs.length, ...tally(), results,
  });
  try {
    for (const job of jobs) {
      if (guard.which !== null) break;
      const elapsed = (performance.now() - t0) / 1000;
      if (minutes !== null && elapsed >= minutes * 60 - 0.5) { timeUp = true; break; }
      // A --minutes soak's last run is cut to the time left.
      const runSeconds = minutes !== null ? Math.min(seconds, Math.max(0.5, minutes * 60 - elapsed)) : seconds;
      bar.next(`${job.scenario} seed ${job.seed}`);
      const kept = out?.done.get(jobFileName(job));
      if (kept) {
        // --resume: a finished run's report is kept and counted, not rerun.
        results.push(jobResult(job, kept, failuresOf(kept), detecting, true));
        bar.runDone(kept);
        continue;
      }
      const spec = {
        scenario: job.scenario, shape: shapeFor(job.scenario), seed: job.seed, variant, inject: o.inject, watchdogMs, seconds: runSeconds,
        options: optionsFor(job.scenario), shard: shardText, interrupt: guard.signal, interruptSignal: () => guard.which ?? 'SIGINT',
        onMachine: bar.onMachine,
        ...(traceMode !== null && out ? { trace: { path: join(out.dir, traceFileName(job)), mode: traceMode } } : {}),
        ...(crash !== null && crash.seed === job.seed ? { testFaults: crash.faults } : {}),
      };
      // Before the run: its seed and arguments are on disk (the summary
      // names it as running, with its rerun line), so even a crash of the
      // whole process leaves what to replay.
      if (out) {
        try {
          await writeOutputFile(join(out.dir, summaryFileName(shard)), `${JSON.stringify(summaryNow(job, rerunCommand(spec)), null, 2)}\n`);
        } catch (e) {
          if (!(e instanceof OutputWriteError)) throw e;
          writeError = e;
          break;
        }
      }
      // Said once the run is on disk as running (a reader of the line finds it there).
      if (runLines) {
        const at = minutes !== null ? `${results.length + 1} (${Math.floor(elapsed)}/${Math.ceil(minutes * 60)} s)` : `${results.length + 1}/${jobs.length}`;
        process.stderr.write(`soak: ${at} ${job.scenario} seed ${job.seed}\n`);
      }
      const { report, failures } = await runOnce(spec);
      bar.runDone(report);
      logger().info({ event: 'run end', scenario: job.scenario, seed: job.seed, stoppedBy: report['stoppedBy'], ops: (report['totals'] as Record<string, number>)['ops'], violations: (report['totals'] as Record<string, number>)['violations'], failures }, 'run end');
      // Each run's report is written as soon as it exists: a later crash loses nothing.
      if (out) {
        try {
          await writeOutputFile(join(out.dir, jobFileName(job)), encodeReportFile(report));
        } catch (e) {
          if (!(e instanceof OutputWriteError)) throw e;
          writeError = e;
        }
      }
      // An interrupted run is not a result: it is reported but not counted,
      // and --resume runs it again.
      if (report['interrupted'] === true) { interruptedRun = `${job.scenario} seed ${job.seed}`; break; }
      const result = jobResult(job, report, failures, detecting, false);
      results.push(result);
      if (writeError) break; // the disk is full or failing: the next runs' reports would be lost too
      if (!result.passed && o.keepGoing !== true) { stoppedAtFailure = `${job.scenario} seed ${job.seed}`; break; }
      // The summary is valid after every run, not only at the end.
      if (out) {
        try {
          await writeOutputFile(join(out.dir, summaryFileName(shard)), `${JSON.stringify(summaryNow(null, ''), null, 2)}\n`);
        } catch (e) {
          if (!(e instanceof OutputWriteError)) throw e;
          writeError = e;
          break;
        }
      }
    }
  } finally {
    bar.stop();
    restoreTerminal();
  }

  // A --minutes soak is complete when its time ran out with nothing else stopping it.
  const complete = minutes !== null ? timeUp && stoppedAtFailure === null && interruptedRun === null && writeError === null && guard.which === null : results.length === jobs.length;
  const summary = {
    ...provenance,
    complete, interrupted: guard.which !== null, interruptSignal: guard.which ?? '',
    ...(interruptedRun !== null ? { interruptedRun } : {}),
    ...(stoppedAtFailure !== null ? { stoppedAtFailure } : {}),
    ...(writeError !== null ? { writeError: writeError.message } : {}),
    jobs: minutes !== null ? results.length : jobs.length, ...tally(), results,
  };
  print(format === 'json' ? JSON.stringify(summary, null, 2) : renderSummary(summary));
  if (out) {
    try {
      await writeOutputFile(join(out.dir, summaryFileName(shard)), `${JSON.stringify(summary, null, 2)}\n`);
    } catch (e) {
      if (!(e instanceof OutputWriteError)) throw e;
      writeError ??= e;
    }
  }
  guard.dispose();
  const bad = results.filter((r) => !r.passed).length;
  const verdict = bad > 0
    ? (detecting
      ? `soak: ${o.inject.join(',')} was caught in ${results.length - bad} of ${results.length} runs`
      : `soak: ${bad} of ${results.length} runs failed their checks`)
      + (stoppedAtFailure !== null ? `; stopped at the first failure (${stoppedAtFailure}; --keep-going runs on)` : '')
    : null;
  if (writeError) {
    if (verdict) process.stderr.write(`shootdown: ${verdict}\n`);
    throw writeError;
  }
  if (guard.which !== null) {
    throw new InterruptedError(guard.which, `soak: interrupted by ${guard.which} after ${results.length}${minutes !== null ? '' : ` of ${jobs.length}`} runs${verdict ? `; ${verdict.replace(/^soak: /, '')}` : ''}${out ? ` (resume with --resume --out ${out.dir})` : ''}`);
  }
  if (verdict) throw new CheckFailedError(verdict);
}
