// One run, start to report: a fresh machine, the free engine, the oracle's
// records and the end-of-run scan, folded into a RunReport. `run` prints
// one; `soak` collects many.

import { loadedScenarioFiles } from '../workloads/scenario-file.js';
import { loadedDesignFiles } from '../kernel/design/design-file.js';
import { designFileOf } from '../kernel/design/registry.js';
import { designReportFields } from '../report/design-report.js';
import { type MachineMemory, createMachineMemory } from '../../native-layout/memory.js';
import type { MachineShape } from '../../native-layout/shape.js';
import { type SchedPolicy, checkRunConfig, runFree } from '../engine/index.js';
import type { TestFaults } from '../workloads/index.js';
import { violationSnapshot } from '../check/oracle.js';
import { EVENT_NAMES, describeEvent } from '../trace/events.js';
import { lastEventsAllCpus } from '../trace/ring.js';
import { buildRunReport, type RunReportObject } from '../report/run-report.js';
import { type CpuProfile, DEFAULT_PROFILE, loadProfile } from '../cost/profile.js';
import { simulate } from '../cost/simulate.js';
import { TOOL_VERSION } from './version.js';
import { UsageError } from './errors.js';
import { ScenarioOptionError } from '../workloads/mm/options.js';
import { TraceRecording, type TraceSummary } from '../trace/record.js';
import type { TraceMode } from '../trace/file.js';
import { TraceWriteError } from '../trace/writer.js';
import { formatReplayLine, quoteIfNeeded } from '../replay/replay-line.js';
import { formatTestCrash } from './test-crash.js';

/** Trace events per CPU attached to a violation record. */

export interface RunSpec {
  readonly scenario: string;
  readonly shape: MachineShape;
  readonly seed: number;
  readonly variant: string;
  readonly inject: readonly string[];
  readonly seconds?: number;
  readonly ops?: number;
  readonly watchdogMs: number;
  readonly testFaults?: TestFaults;
  /** Scenario options (--option key=value). */
  readonly options?: Readonly<Record<string, number | string | boolean>>;
  /** CPU profile for simulated time (profiles/NAME.json); default DEFAULT_PROFILE. */
  readonly profile?: string;
  /** Serialized engine (--engine serialized): schedule seed, policy, pct change points. */
  readonly engine?: 'free' | 'serialized';
  readonly schedSeed?: number;
  readonly sched?: SchedPolicy;
  readonly preemptions?: number;
  /** "i/n" when the run is part of a soak shard (recorded in the report). */
  readonly shard?: string;
  /** The first SIGINT/SIGTERM: stops the CPUs; the report is marked interrupted. */
  readonly interrupt?: AbortSignal;
  /** Which signal aborted `interrupt` (recorded in the report). */
  readonly interruptSignal?: () => string;
  /** Called with the live machine once the CPUs are being started (progress display). */
  readonly onMachine?: (mem: MachineMemory) => void;
  /** shootdown profile: write each CPU's V8 CPU profile here (unbundled workers, so frames name source files). */
  readonly profileDir?: string;
  /** --html: keep the last this-many trace events of every CPU in the report's timeline (0 or absent: none). */
  readonly timelinePerCpu?: number;
  /** Trace files (issue 10): write the run's trace events here (--trace FILE --trace-mode ring|full). */
  readonly trace?: { readonly path: string; readonly mode: TraceMode };
}

export interface RunOutcome {
  readonly report: RunReportObject;
  /** Why the run failed its checks, one phrase each; empty when it passed. */
  readonly failures: readonly string[];
  /** The machine after the run (quiescent): for comparisons such as --check-determinism. */
  readonly mem: MachineMemory;
  /** The trace file written (spec.trace), or undefined. */
  readonly trace?: TraceSummary;
  /** Writing spec.trace failed (the report is still good). */
  readonly traceError?: TraceWriteError;
}

/** Fills a report's simulated-time fields (proto/report.proto) from its per-CPU counters. */
export function addSimulatedTime(report: RunReportObject, profile: CpuProfile): void {
  const perCpu = report['perCpu'] as { cpu: number; counters: Record<string, number>; simCycles?: number }[];
  const sim = simulate(profile, perCpu);
  sim.perCpu.forEach((c, i) => { perCpu[i]!.simCycles = c.cycles; });
  report['profile'] = sim.profile;
  report['simElapsedMs'] = sim.elapsedMs;
  report['opsPerSimSecond'] = sim.opsPerSimSecond;
  report['simCycles'] = sim.cycles;
}

/**
 * The command line that runs the same configuration again: every flag that
 * changes what runs (the watchdog bound too, since it decides when a slow
 * acknowledgement becomes a failure). It is a rerun, not a replay: the host
 * schedules the CPU threads differently each time, so the counts differ and
 * a rare failure may need several reruns.
 */
export function rerunCommand(spec: RunSpec): string {
  // Under the serialized engine the line is an exact replay: the schedule
  // is part of the configuration, and every default is written out.
  if (spec.engine === 'serialized' && spec.ops !== undefined && spec.testFaults === undefined) {
    const line = formatReplayLine({
      scenario: spec.scenario, cpus: spec.shape.cpus, seed: spec.seed, memMiB: spec.shape.memBytes / 2 ** 20, ops: spec.ops,
      variant: spec.variant, inject: spec.inject, options: spec.options ?? {}, watchdogMs: spec.watchdogMs,
      profile: spec.profile ?? DEFAULT_PROFILE, schedSeed: spec.schedSeed ?? 1, sched: spec.sched ?? 'random',
      preemptions: spec.preemptions ?? 2,
    });
    // A design module's name is a variant only once the module is loaded:
    // without --design the line names a variant `run` does not know.
    const file = designFileOf(spec.variant);
    return file === null ? line : `${line} --design ${quoteIfNeeded(file)}`;
  }
  const parts = ['shootdown run', spec.scenario, `--cpus ${spec.shape.cpus}`, `--seed ${spec.seed}`, `--mem ${spec.shape.memBytes / 2 ** 20}M`];
  if (spec.seconds !== undefined) parts.push(`--seconds ${spec.seconds}`);
  if (spec.ops !== undefined) parts.push(`--ops ${spec.ops}`);
  const designFile = designFileOf(spec.variant);
  if (designFile !== null) parts.push(`--design ${designFile}`);
  parts.push(`--variant ${spec.variant}`);
  parts.push(`--watchdog-ms ${spec.watchdogMs}`);
  if (spec.profile !== undefined && spec.profile !== DEFAULT_PROFILE) parts.push(`--profile ${spec.profile}`);
  for (const b of spec.inject) parts.push(`--inject ${b}`);
  for (const [k, v] of Object.entries(spec.options ?? {})) parts.push(`--option ${k}=${String(v)}`);
  if (spec.testFaults?.neverAckCpu !== undefined) parts.push(`--test-never-ack ${spec.testFaults.neverAckCpu}`);
  if (spec.testFaults?.crashCpu !== undefined) parts.push(`--test-crash ${formatTestCrash(spec.testFaults)}`);
  // Under the serialized engine the line is an exact replay: the schedule
  // is part of the configuration.
  if (spec.engine === 'serialized') {
    parts.push('--engine serialized', `--sched-seed ${spec.schedSeed ?? 1}`);
    parts.push(`--sched ${spec.sched ?? 'random'}`, `--preemptions ${spec.preemptions ?? 2}`);
  }
  return parts.join(' ');
}

/** Why a report's run failed its checks, one phrase each; empty when it passed. */
export function failuresOf(report: RunReportObject): string[] {
  const totals = report['totals'] as Record<string, number>;
  const failures: string[] = [];
  if (totals['violations']! > 0) failures.push(`${totals['violations']} violation(s)`);
  if (totals['framesLost']! > 0) failures.push(`${totals['framesLost']} frame(s) lost`);
  const end = report['endCheck'] as string[];
  if (end.length > 0) failures.push(`${end.length} end-of-run problem(s)`);
  const fault = report['fault'] as string;
  if (fault) failures.push(fault.split('\n')[0]!);
  return failures;
}

/** "--option: " when options were given (they are the likely cause), else "set-up: ". */
function setupErrorPrefix(spec: RunSpec): string {
  return Object.keys(spec.options ?? {}).length > 0 ? '--option: ' : 'set-up: ';
}

/** Refuses a spec whose scenario options are bad, by running only its set-up (no CPU starts). */
export function checkRunSpec(spec: RunSpec): void {
  try {
    checkRunConfig({
      scenario: spec.scenario, memory: createMachineMemory(spec.shape), seed: spec.seed, inject: spec.inject,
      options: { ...spec.options, variant: spec.variant }, seconds: 1,
    });
  } catch (e) {
    if (e instanceof ScenarioOptionError) throw new UsageError(`${setupErrorPrefix(spec)}${e.message}`);
    throw e;
  }
}

export async function runOnce(spec: RunSpec): Promise<RunOutcome> {
  const mem = createMachineMemory(spec.shape);
  const recording = spec.trace === undefined ? null : await TraceRecording.start(mem, spec.trace.path, spec.trace.mode, {
    toolVersion: TOOL_VERSION, scenario: spec.scenario, cpus: spec.shape.cpus, seed: spec.seed, variant: spec.variant,
    inject: [...spec.inject], engine: spec.engine ?? 'free', schedSeed: spec.engine === 'serialized' ? spec.schedSeed ?? 1 : 0,
    sched: spec.engine === 'serialized' ? spec.sched ?? 'random' : '', preemptions: spec.engine === 'serialized' ? spec.preemptions ?? 2 : 0,
    opsPerCpu: spec.ops ?? 0, options: Object.entries(spec.options ?? {}).map(([k, v]) => `${k}=${String(v)}`), replay: rerunCommand(spec),
  });
  let result;
  try {
    result = await runFree({
    scenario: spec.scenario, memory: mem, seed: spec.seed, inject: spec.inject, watchdogMs: spec.watchdogMs, onFault: 'return',
    scenarioFiles: loadedScenarioFiles(),
    designFiles: loadedDesignFiles(),
    options: { ...spec.options, variant: spec.variant },
    ...(spec.testFaults ? { testFaults: spec.testFaults } : {}),
    ...(spec.seconds !== undefined ? { seconds: spec.seconds } : {}),
    ...(spec.ops !== undefined ? { ops: spec.ops } : {}),
    ...(spec.engine !== undefined ? { engine: spec.engine } : {}),
    ...(spec.schedSeed !== undefined ? { schedSeed: spec.schedSeed } : {}),
    ...(spec.sched !== undefined ? { sched: spec.sched } : {}),
    ...(spec.preemptions !== undefined ? { preemptions: spec.preemptions } : {}),
    ...(spec.interrupt ? { interrupt: spec.interrupt } : {}),
    ...(spec.onMachine ? { onStart: () => spec.onMachine!(mem) } : {}),
    ...(spec.profileDir !== undefined ? { profileDir: spec.profileDir, workerBundle: false } : {}),
    });
  } catch (e) {
    await recording?.abort();
    // Bad scenario options are found by the scenario's set-up, before any CPU starts.
    if (e instanceof ScenarioOptionError) throw new UsageError(`${setupErrorPrefix(spec)}${e.message}`);
    throw e;
  }
  // The scenario's own end-of-run scan (allocator, page tables, TLBs vs
  // free frames, lost frames) ran in runFree once every CPU was gone.
  const end = result.endCheck?.violations ?? [];
  const interrupted = result.stoppedBy === 'interrupted';
  const report = buildRunReport({
    result, variant: spec.variant, inject: spec.inject, memBytes: spec.shape.memBytes,
    violations: result.violationRecords, violationCount: result.violations,
    endCheck: end, framesLost: result.framesLost,
    replay: rerunCommand(spec), toolVersion: TOOL_VERSION,
    lastEventsOf: (v) => violationSnapshot(mem.views, v.slot).map((e) => ({
      cpu: e.cpu, op: e.event >>> 8, kind: EVENT_NAMES[e.event & 0xff] ?? `event ${e.event & 0xff}`,
      args: describeEvent(e.event & 0xff, e.a, e.b, e.c),
    })),
    provenance: {
      interrupted,
      interruptSignal: interrupted ? spec.interruptSignal?.() ?? 'SIGINT' : '',
      seconds: spec.seconds ?? 0,
      opsLimit: spec.ops ?? 0,
      watchdogMs: spec.watchdogMs,
      options: Object.entries(spec.options ?? {}).map(([k, v]) => `${k}=${String(v)}`),
      shard: spec.shard ?? '',
    },
  });
  Object.assign(report, designReportFields(spec.variant));
  addSimulatedTime(report, loadProfile(spec.profile ?? DEFAULT_PROFILE));
  if (spec.timelinePerCpu !== undefined && spec.timelinePerCpu > 0) {
    // The CPUs have stopped: the rings are quiescent and read whole.
    const perCpu = Math.min(spec.timelinePerCpu, spec.shape.traceEntries);
    report['timeline'] = { events: lastEventsAllCpus(mem, perCpu), perCpu, ringEntries: spec.shape.traceEntries };
  }
  // A trace that cannot be written must not cost the report: the caller
  // prints the results first and then fails with traceError.
  let trace: TraceSummary | undefined;
  let traceError: TraceWriteError | undefined;
  try {
    trace = recording === null ? undefined : await recording.stop(result.stoppedBy);
  } catch (e) {
    if (!(e instanceof TraceWriteError)) throw e;
    traceError = e;
  }
  return { report, failures: failuresOf(report), mem, ...(trace ? { trace } : {}), ...(traceError ? { traceError } : {}) };
}
