// `shootdown soak`: many (scenario, seed) runs, one after another, with a
// deterministic --shard i/n split so a CI matrix can spread them over
// machines. Without --inject every run must pass its checks; with --inject
// every run must catch the bug (a detection sweep).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { SCENARIOS, findScenario, optionsKnownTo, UnknownScenarioError } from '../workloads/index.js';
import { setInjected } from '../check/bugs.js';
import { encodeMessage } from '../report/schema.js';
import { CheckFailedError, UsageError } from './errors.js';
import { FORMATS, renderTable } from './format.js';
import { assertHostCanHold, shapeFromOptions } from './machine-options.js';
import { parseChoice, parseIntInRange } from './parse.js';
import { parseSeconds, parseVariantOption } from './run-command.js';
import { checkRunSpec, runOnce } from './run-once.js';
import { defaultMemFor, parseScenarioOptions } from './scenario-options.js';

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
  watchdogMs: string;
  format: string;
  progress?: boolean;
}

interface Job {
  readonly scenario: string;
  readonly seed: number;
}

interface JobResult extends Job {
  readonly passed: boolean;
  readonly violations: number;
  readonly framesLost: number;
  readonly opsPerSec: number;
  readonly failures: readonly string[];
  readonly replay: string;
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
  const shapeFor = (scenario: string) => shapeFromOptions({ mem: o.mem ?? defaultMemFor(scenario), cpus: o.cpus });
  for (const name of scenarios) assertHostCanHold(shapeFor(name));
  const detecting = o.inject.length > 0;
  const jobs = soakJobs(scenarios, seeds, seedStart, shard);
  // Every scenario's set-up once before the first run: an option one of
  // them refuses stops the soak here, not after hours of results.
  for (const name of new Set(jobs.map((j) => j.scenario))) {
    checkRunSpec({ scenario: name, shape: shapeFor(name), seed: seedStart, variant, inject: o.inject, watchdogMs, seconds, options: optionsFor(name) });
  }
  if (o.out) mkdirSync(o.out, { recursive: true });

  const showBar = o.progress !== false && format === 'table' && process.stderr.isTTY && !process.env['CI'];
  const bar = showBar ? new cliProgress.SingleBar({ format: 'soak [{bar}] {value}/{total} runs | {job}', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
  bar?.start(jobs.length, 0, { job: '' });
  const results: JobResult[] = [];
  try {
    for (const job of jobs) {
      bar?.update(results.length, { job: `${job.scenario} seed ${job.seed}` });
      if (!bar && format === 'table') process.stderr.write(`soak: ${results.length + 1}/${jobs.length} ${job.scenario} seed ${job.seed}\n`);
      const { report, failures } = await runOnce({ scenario: job.scenario, shape: shapeFor(job.scenario), seed: job.seed, variant, inject: o.inject, watchdogMs, seconds, options: optionsFor(job.scenario) });
      // Each run's report is written as soon as it exists: a later crash loses nothing.
      if (o.out) writeFileSync(join(o.out, `${job.scenario}-seed${job.seed}.pb`), encodeMessage('RunReport', report));
      const totals = report['totals'] as Record<string, number>;
      const records = report['violationRecords'] as { replay: string }[];
      const caught = totals['violations']! > 0 || String(report['stoppedBy']) === 'watchdog';
      results.push({
        ...job,
        passed: detecting ? caught : failures.length === 0,
        violations: totals['violations']!,
        framesLost: totals['framesLost']!,
        opsPerSec: report['opsPerSec'] as number,
        failures,
        replay: records[0]?.replay ?? '',
      });
    }
  } finally {
    bar?.stop();
  }

  const summary = {
    shard: `${shard.index}/${shard.count}`, inject: o.inject, secondsPerRun: seconds, cpus: shapeFor(scenarios[0]!).cpus, options: scenarioOptions,
    runs: results.length, passed: results.filter((r) => r.passed).length, results,
  };
  if (o.out) writeFileSync(join(o.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  if (format === 'json') {
    print(JSON.stringify(summary, null, 2));
  } else {
    const rows = scenarios.map((name) => {
      const rs = results.filter((r) => r.scenario === name);
      const mean = rs.length ? rs.reduce((s, r) => s + r.opsPerSec, 0) / rs.length : 0;
      return [name, rs.length, rs.filter((r) => r.passed).length, rs.reduce((s, r) => s + r.violations, 0), rs.reduce((s, r) => s + r.framesLost, 0), Math.round(mean)];
    }).filter((r) => (r[1] as number) > 0);
    print(renderTable(['scenario', 'runs', detecting ? 'caught' : 'passed', 'violations', 'frames lost', 'loops/s (mean)'], rows));
    for (const r of results.filter((x) => !x.passed)) {
      print(detecting ? `not caught: ${r.scenario} seed ${r.seed}` : `failed: ${r.scenario} seed ${r.seed}: ${r.failures.join('; ')}${r.replay ? ` (replay: ${r.replay})` : ''}`);
    }
  }
  const bad = results.filter((r) => !r.passed).length;
  if (bad > 0) {
    throw new CheckFailedError(detecting
      ? `soak: ${o.inject.join(',')} was caught in ${results.length - bad} of ${results.length} runs`
      : `soak: ${bad} of ${results.length} runs failed their checks`);
  }
}
