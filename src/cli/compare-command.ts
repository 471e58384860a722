// `shootdown compare <scenario> --variant A,B,... [--samples N] [--profile P]
// [--metric m,...] [--cpus N] [--ops N | --seconds S] [--format
// table|markdown|json] [--out FILE]`: N seeds per variant, one run each,
// summarised per metric (src/report/compare.ts). The first variant is the
// base. Runs go seed by seed, every variant in turn, so a host slowdown in
// the middle touches every variant alike (it can only move wall-clock
// metrics; simulated ones follow the counts).

import type { RunReportObject } from '../report/run-report.js';
import { type MetricDef, defaultMetricsFor, metricsFor, summarize } from '../report/compare.js';
import { canonicalOptions } from '../report/compare-setup.js';
import { ProfileError, loadProfile } from '../cost/profile.js';
import { SCENARIOS, UnknownScenarioError, findScenario } from '../workloads/index.js';
import { CheckFailedError, UsageError } from './errors.js';
import { assertHostCanHold, shapeFromOptions } from './machine-options.js';
import { checkOutputFile } from './output-files.js';
import { emitCompareReport } from './compare-output.js';
import { logger } from './logger.js';
import { progressWanted, seriesProgress } from './progress.js';
import { restoreTerminal } from './terminal.js';
import { parseChoice, parseIntInRange } from './parse.js';
import { parseSeconds, parseVariantOption } from './run-command.js';
import { checkRunSpec, runOnce } from './run-once.js';
import { defaultMemFor, parseScenarioOptions } from './scenario-options.js';
import { TOOL_VERSION } from './version.js';

export const COMPARE_FORMATS = ['table', 'markdown', 'json'] as const;
/** Ops per CPU of each run when neither --ops nor --seconds is given: an op budget keeps simulated figures off host timing. */
export const DEFAULT_COMPARE_OPS = 1000;
const MAX_SAMPLES = 1000;
/** Trace events per CPU kept from each variant's first sample for the HTML timeline (the page draws the last 40). */
const COMPARE_TIMELINE_PER_CPU = 64;

/** The asi_exit per-reason metrics of a scenario (asiExits<Reason>PerOp): the HTML page's stacked bar, whatever --metric chose. */
function exitReasonMetrics(scenario: string): MetricDef[] {
  return metricsFor(scenario).filter((m) => /^asiExits[A-Z][A-Za-z]*PerOp$/.test(m.name));
}

export interface CompareOptions {
  variant?: string;
  samples: string;
  profile: string;
  metric?: string;
  cpus: string;
  ops?: string;
  seconds?: string;
  mem?: string;
  option: string[];
  format: string;
  out?: string;
  html?: string;
  watchdogMs: string;
  progress?: boolean;
}

function pickMetrics(all: readonly MetricDef[], defaults: readonly MetricDef[], text: string | undefined): MetricDef[] {
  if (text === undefined) return [...defaults];
  const names = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError(`--metric "${text}" names no metric: use one or more of ${all.map((m) => m.name).join(', ')}`);
  return names.map((n) => {
    const m = all.find((d) => d.name === n);
    if (!m) throw new UsageError(`--metric "${n}" is not a metric of this scenario: use ${all.map((d) => d.name).join(', ')}`);
    return m;
  });
}

function parseVariants(text: string | undefined): string[] {
  if (text === undefined) throw new UsageError('compare: give --variant A,B,... (the first is the base)');
  const list = text.split(',').map((s) => s.trim());
  if (list.some((s) => s.length === 0)) throw new UsageError(`--variant "${text}" has an empty entry: use A,B,... (e.g. asi-off,asi-on)`);
  const canon = list.map(parseVariantOption);
  const dup = canon.find((v, i) => canon.indexOf(v) !== i);
  if (dup !== undefined) throw new UsageError(`--variant "${text}" names ${dup} twice`);
  return canon;
}

/** Validates, runs every sample and prints the comparison; throws UsageError / CheckFailedError. */
export async function runCompare(scenarioArg: string | undefined, o: CompareOptions, print: (t: string) => void): Promise<void> {
  if (!scenarioArg) throw new UsageError(`compare: name a scenario (${SCENARIOS.map((s) => s.name).join(', ')})`);
  try {
    findScenario(scenarioArg);
  } catch (e) {
    if (e instanceof UnknownScenarioError) throw new UsageError(e.message);
    throw e;
  }
  const variants = parseVariants(o.variant);
  const samples = parseIntInRange('--samples', o.samples, 1, MAX_SAMPLES);
  const format = parseChoice('--format', o.format, COMPARE_FORMATS);
  try {
    loadProfile(o.profile);
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(`--profile: ${e.message}`);
    throw e;
  }
  const metrics = pickMetrics(metricsFor(scenarioArg), defaultMetricsFor(scenarioArg), o.metric);
  const seconds = o.seconds !== undefined ? parseSeconds(o.seconds) : undefined;
  const ops = o.ops !== undefined
    ? parseIntInRange('--ops', o.ops, 1, Number.MAX_SAFE_INTEGER)
    : seconds === undefined ? DEFAULT_COMPARE_OPS : undefined;
  const watchdogMs = parseIntInRange('--watchdog-ms', o.watchdogMs, 10, 3_600_000);
  const options = parseScenarioOptions(o.option);
  const shape = shapeFromOptions({ mem: o.mem ?? defaultMemFor(scenarioArg, shapeFromOptions({ cpus: o.cpus }).cpus), cpus: o.cpus });
  assertHostCanHold(shape);
  if (o.out !== undefined) checkOutputFile('--out', o.out);
  if (o.html !== undefined) checkOutputFile('--html', o.html);
  const base = {
    scenario: scenarioArg, shape, inject: [] as string[], watchdogMs, options, profile: o.profile,
    ...(ops !== undefined ? { ops } : {}), ...(seconds !== undefined ? { seconds } : {}),
  };
  // Bad scenario options or a variant the scenario cannot run: refused
  // before the first sample, not after minutes of runs.
  for (const variant of variants) checkRunSpec({ ...base, seed: 1, variant });

  const reports = new Map<string, RunReportObject[]>(variants.map((v) => [v, []]));
  const timelines: { variant: string; seed: number; timeline: unknown }[] = [];
  const failures: string[] = [];
  const log = logger();
  log.info({ event: 'compare start', scenario: scenarioArg, variants, samples, cpus: shape.cpus, ops: ops ?? 0, seconds: seconds ?? 0, profile: o.profile }, 'compare start');
  const progress = seriesProgress(progressWanted(o.progress !== false && format === 'table'), 'compare', samples * variants.length, ops);
  try {
    for (let seed = 1; seed <= samples; seed++) {
      for (const variant of variants) {
        progress.next(`${variant} seed ${seed}`);
        log.info({ event: 'run start', variant, seed }, 'run start');
        // --html: the first seed of each variant keeps its trace rings as the page's timeline.
        const { report, failures: f } = await runOnce({
          ...base, seed, variant, onMachine: progress.onMachine,
          ...(o.html !== undefined && seed === 1 ? { timelinePerCpu: COMPARE_TIMELINE_PER_CPU } : {}),
        });
        progress.runDone(report);
        if (report['timeline'] !== undefined) timelines.push({ variant, seed, timeline: report['timeline'] });
        reports.get(variant)!.push(report);
        for (const line of f) failures.push(`${variant} seed ${seed}: ${line}`);
        const totals = report['totals'] as Record<string, number>;
        log.info({
          event: 'sample done', variant, seed, stoppedBy: report['stoppedBy'], ops: totals['ops'], violations: totals['violations'],
          durationMs: report['durationMs'], values: Object.fromEntries(metrics.map((m) => [m.name, m.read(report)])), failures: f,
        }, 'sample done');
      }
    }
  } finally {
    progress.stop();
    restoreTerminal();
  }
  const summary = summarize(metrics, reports);
  const report = {
    scenario: scenarioArg, profile: o.profile, cpus: shape.cpus, ops: ops ?? 0, seconds: seconds ?? 0, samples,
    metrics: summary, toolVersion: TOOL_VERSION, timelines,
    asiExitReasons: summarize(exitReasonMetrics(scenarioArg), reports),
    // What merge must find equal before pooling (proto/compare.proto 11, 12).
    options: canonicalOptions(options), memBytes: shape.memBytes,
  };
  log.info({ event: 'compare end', scenario: scenarioArg, runs: samples * variants.length, failures: failures.length }, 'compare end');
  await emitCompareReport(report, { format, ...(o.out !== undefined ? { out: o.out } : {}), ...(o.html !== undefined ? { html: o.html } : {}) }, print);
  if (failures.length > 0) throw new CheckFailedError(`compare ${scenarioArg}: ${failures.join('; ')}`);
}
