// `shootdown run <scenario>`: one run on the free engine, reported as a
// RunReport (table or the proto3 JSON mapping), optionally written as a
// binary protobuf file.

import { runPage } from '../report/html/page.js';
import { logger } from './logger.js';
import { SCENARIOS, findScenario, UnknownScenarioError } from '../workloads/index.js';
import { setInjected } from '../check/bugs.js';
import type { RunReportObject } from '../report/run-report.js';
import { runOnce, type RunOutcome } from './run-once.js';
import { MAX_PREEMPTIONS, SCHED_POLICIES, firstDifference } from '../engine/index.js';
import { ProfileError, loadProfile } from '../cost/profile.js';
import { defaultMemFor, parseScenarioOptions } from './scenario-options.js';
import { toProtoJson } from '../report/schema.js';
import { encodeReportFile } from '../report/report-file.js';
import { checkOutputFile, writeOutputFile } from './output-files.js';
import { InterruptGuard, InterruptedError } from './interrupt.js';
import { progressWanted, runProgress } from './progress.js';
import { restoreTerminal } from './terminal.js';
import { CheckFailedError, UsageError } from './errors.js';
import { FORMATS, renderTable, type Format } from './format.js';
import { recordOptionsOf } from '../workloads/option-catalog.js';
import { ENGINE_OPTIONS } from '../engine/kernel-points.js';
import type { MachineShape } from '../../native-layout/shape.js';
import { announceHtml } from './compare-output.js';
import { checkRunSpec } from './run-once.js';
import { renderReport } from './render-report.js';
import { assertHostCanHold, shapeFromOptions } from './machine-options.js';
import { parseChoice, parseIntInRange } from './parse.js';
import { parseVariant, VariantError } from '../kernel/variant.js';
import { loadedScenarios } from './scenario-file-option.js';
import { TRACE_MODES } from '../trace/file.js';
import { FULL_TRACE_RING_ENTRIES } from '../trace/record.js';
import { parseTestCrash } from './test-crash.js';

/** --variant, validated at the edge: the canonical spelling (src/kernel/variant.ts grammar), or one line and exit 2. */
export function parseVariantOption(text: string): string {
  try {
    const v = parseVariant(text);
    // Accepted, since a design study may want exactly this, but not safe:
    // an ephemeral map's put flushes only the current PCID, as posted,
    // which relies on ASI transitions that flush (README, "Ephemeral maps").
    if (v.noflush && v.ephemeral !== 'none') {
      process.stderr.write(`shootdown: warning: --variant ${v.name}: ${v.ephemeral} with noflush is not a safe design (the put flushes only the current PCID, which relies on ASI transitions without NOFLUSH): expect stale-at-flush reports\n`);
    }
    return v.name;
  } catch (e) {
    if (e instanceof VariantError) throw new UsageError(e.message);
    throw e;
  }
}

export interface RunOptions {
  list?: boolean;
  /** List the scenario's options instead of running it. */
  options?: boolean;
  cpus: string;
  seconds?: string;
  ops?: string;
  seed: string;
  variant: string;
  inject: string[];
  mem?: string;
  option: string[];
  format: string;
  out?: string;
  /** --html FILE: the run's HTML page (src/report/html), with the trace rings as its timeline. */
  html?: string;
  watchdogMs: string;
  progress?: boolean;
  /** Engine self-test only (hidden flag): the watchdog must catch this CPU. */
  testNeverAck?: string;
  /** Fault-survival tests only (hidden flag): CPU:OP[:throw|exit]. */
  testCrash?: string;
  engine: string;
  schedSeed: string;
  sched: string;
  preemptions: string;
  checkDeterminism?: boolean;
  profile: string;
  /** Trace files (issue 10). */
  trace?: string;
  traceMode: string;
}

export const ENGINES = ['free', 'serialized'] as const;

export function listScenarios(): string {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  return SCENARIOS.map((s) => `${s.name.padEnd(width)}  ${s.description}`).join('\n');
}

/** Longest --seconds accepted: a week (a longer soak is split into shards). */
export const MAX_SECONDS = 7 * 86400;

export function parseSeconds(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text)) {
    throw new UsageError(`--seconds "${text}" is not a duration: use a number of seconds above 0 and at most ${MAX_SECONDS} (7 days), e.g. 5 or 0.5`);
  }
  if (!(n > 0) || n > MAX_SECONDS) throw new UsageError(`--seconds ${text.trim()} is out of range: use a number above 0 and at most ${MAX_SECONDS} (7 days)`);
  return n;
}

/**
 * `run <scenario> --options`: the options the scenario's set-up reads, with
 * the defaults it resolves for this machine (several scale with --cpus),
 * recorded from the set-up itself; then the engine's own.
 */
function listScenarioOptions(scenario: string, shape: MachineShape, format: Format): string {
  const entries = recordOptionsOf(() => checkRunSpec({ scenario, shape, seed: 1, variant: 'ipi', inject: [], watchdogMs: 5000, seconds: 1 }));
  const names = new Set(entries.map((e) => e.name));
  // Keys the scenario accepts that its set-up reads only in some modes (or in the CPUs).
  const unread = findScenario(scenario).optionNames.filter((n) => !names.has(n));
  const all = [...entries, ...ENGINE_OPTIONS];
  if (format === 'json') return JSON.stringify({ scenario, cpus: shape.cpus, options: all, readElsewhere: unread }, null, 2);
  const lines = [
    `${scenario} options at ${shape.cpus} CPUs (--option key=value; defaults for this CPU count):`,
    renderTable(['option', 'default', 'range'], all.map((e) => [e.name, String(e.default), e.range])),
  ];
  if (unread.length) lines.push(`also accepted (read only in some configurations, see the README): ${unread.join(', ')}`);
  return lines.join('\n');
}

export async function runRun(scenarioArg: string | undefined, o: RunOptions, print: (t: string) => void): Promise<void> {
  if (o.list) { print(listScenarios()); return; }
  // `run --scenario-file F` with no name runs the (last) file's scenario.
  scenarioArg ??= loadedScenarios().at(-1)?.name;
  if (!scenarioArg) throw new UsageError(`run: name a scenario (${SCENARIOS.map((s) => s.name).join(', ')}) or use --list`);
  try {
    findScenario(scenarioArg);
  } catch (e) {
    if (e instanceof UnknownScenarioError) throw new UsageError(e.message);
    throw e;
  }
  const format = parseChoice('--format', o.format, FORMATS);
  if (o.options) { print(listScenarioOptions(scenarioArg, shapeFromOptions({ mem: o.mem ?? defaultMemFor(scenarioArg, shapeFromOptions({ cpus: o.cpus }).cpus), cpus: o.cpus }), format)); return; }
  const variant = parseVariantOption(o.variant);
  const seed = parseIntInRange('--seed', o.seed, 0, 2 ** 32 - 1);
  const watchdogMs = parseIntInRange('--watchdog-ms', o.watchdogMs, 10, 3_600_000);
  const ops = o.ops !== undefined ? parseIntInRange('--ops', o.ops, 1, Number.MAX_SAFE_INTEGER) : undefined;
  const seconds = o.seconds !== undefined ? parseSeconds(o.seconds) : ops === undefined ? 5 : undefined;
  setInjected(o.inject); // validates the names here, in the main thread, before any worker starts
  const scenarioOptions = parseScenarioOptions(o.option);
  const traceMode = parseChoice('--trace-mode', o.traceMode, TRACE_MODES);
  // A full trace drains the rings every few ms; rings 16x the default let a
  // CPU run ~16k events ahead of a main thread the host is starving
  // (losing one would also make a serialized trace differ between runs).
  const shape = shapeFromOptions(
    { mem: o.mem ?? defaultMemFor(scenarioArg, shapeFromOptions({ cpus: o.cpus }).cpus), cpus: o.cpus },
    o.trace !== undefined && traceMode === 'full' ? { traceEntries: FULL_TRACE_RING_ENTRIES } : {},
  );
  const neverAckCpu = o.testNeverAck !== undefined ? parseIntInRange('--test-never-ack', o.testNeverAck, 0, shape.cpus - 1) : undefined;
  const crash = o.testCrash !== undefined ? parseTestCrash('--test-crash', o.testCrash, shape.cpus) : undefined;
  assertHostCanHold(shape);
  // Before any work: a run must not spend minutes and then find it cannot save its report.
  if (o.out !== undefined) checkOutputFile('--out', o.out);
  if (o.html !== undefined) checkOutputFile('--html', o.html);
  if (o.trace !== undefined) checkOutputFile('--trace', o.trace);

  const engine = parseChoice('--engine', o.engine, ENGINES);
  const schedSeed = parseIntInRange('--sched-seed', o.schedSeed, 0, 2 ** 32 - 1);
  const sched = parseChoice('--sched', o.sched, SCHED_POLICIES);
  const preemptions = parseIntInRange('--preemptions', o.preemptions, 0, MAX_PREEMPTIONS);
  if (engine === 'serialized' && ops === undefined) {
    throw new UsageError('--engine serialized needs --ops N (a serialized run ends by its op budget, so that it repeats exactly)');
  }
  if (o.checkDeterminism && engine !== 'serialized') {
    throw new UsageError('--check-determinism needs --engine serialized (the free engine is not deterministic by design)');
  }
  try {
    loadProfile(o.profile);
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(`--profile: ${e.message}`);
    throw e;
  }
  const progress = runProgress(progressWanted(o.progress !== false && format === 'table'), engine === 'free' ? seconds : undefined, ops);
  const guard = new InterruptGuard().install();
  const spec = {
    profile: o.profile,
    scenario: scenarioArg, shape, seed, variant, inject: o.inject, watchdogMs, options: scenarioOptions,
    ...(neverAckCpu !== undefined || crash !== undefined ? { testFaults: { ...(neverAckCpu !== undefined ? { neverAckCpu } : {}), ...crash } } : {}),
    ...(seconds !== undefined && engine === 'free' ? { seconds } : {}), ...(ops !== undefined ? { ops } : {}),
    ...(engine === 'serialized' ? { engine, schedSeed, sched, preemptions } : {}),
    interrupt: guard.signal, interruptSignal: () => guard.which ?? 'SIGINT', onMachine: progress.start,
    ...(o.html !== undefined ? { timelinePerCpu: shape.traceEntries } : {}),
    ...(o.trace !== undefined ? { trace: { path: o.trace, mode: traceMode } } : {}),
  };
  logger().info({ event: 'run start', scenario: scenarioArg, variant, seed, cpus: shape.cpus, engine, ops: ops ?? 0, seconds: seconds ?? 0, inject: o.inject }, 'run start');
  let outcome: RunOutcome;
  let again: RunOutcome | null = null;
  try {
    outcome = await runOnce(spec);
    // The second run checks the digest only: it does not overwrite the trace.
    if (o.checkDeterminism && guard.which === null) again = await runOnce({ ...spec, trace: undefined });
  } finally {
    progress.stop();
    restoreTerminal();
  }
  const { report } = outcome;
  const failures = [...outcome.failures];
  const totals = report['totals'] as Record<string, number>;
  logger().info({ event: 'run end', scenario: scenarioArg, stoppedBy: report['stoppedBy'], ops: totals['ops'], violations: totals['violations'], durationMs: report['durationMs'], failures }, 'run end');
  if (again !== null) {
    const d1 = report['digest'] as string;
    const d2 = again.report['digest'] as string;
    if (d1 !== d2) {
      const where = firstDifference(outcome.mem, again.mem) ?? 'the digests';
      failures.push(`not deterministic: two runs of one configuration differ (digest ${d1} vs ${d2}; first difference: ${where})`);
    }
    if (format === 'table') print(`determinism: ${d1 === d2 ? 'two runs gave the same digest' : 'runs DIFFER'} (${d1}${d1 === d2 ? '' : ` vs ${d2}`})`);
  }
  // stdout first: a file that cannot be written (full disk) must not cost
  // the user the results too.
  print(format === 'json' ? JSON.stringify(toProtoJson('RunReport', report), null, 2) : renderReport(report));
  if (outcome.trace !== undefined) {
    const t = outcome.trace;
    const lost = t.lost.reduce((x, y) => x + y, 0);
    process.stderr.write(`trace: ${t.events} events (${t.mode} mode${lost > 0 ? `, ${lost} lost to ring overwrite` : ''}) in ${t.path}; read it with: shootdown trace show ${t.path}\n`);
  }
  const failed = failures.length > 0 ? `run ${scenarioArg}: ${failures.join('; ')}` : null;
  if (o.out || o.html !== undefined) {
    try {
      if (o.out) await writeOutputFile(o.out, encodeReportFile(report));
      if (o.html !== undefined) {
        await writeOutputFile(o.html, runPage(report));
        announceHtml(o.html);
      }
    } catch (e) {
      if (failed !== null) process.stderr.write(`shootdown: ${failed}\n`);
      throw e;
    } finally {
      guard.dispose();
    }
  } else {
    guard.dispose();
  }
  if (outcome.traceError !== undefined) {
    if (failed !== null) process.stderr.write(`shootdown: ${failed}\n`);
    throw outcome.traceError;
  }
  if (guard.which !== null) {
    throw new InterruptedError(guard.which, `run ${scenarioArg}: interrupted by ${guard.which}: the report above covers ${((report['durationMs'] as number) / 1000).toFixed(2)} s${failed !== null ? `; ${failures.join('; ')}` : ''}`);
  }
  if (failed !== null) throw new CheckFailedError(failed);
}
