// One run, start to report: a fresh machine, the free engine, the oracle's
// records and the end-of-run scan, folded into a RunReport. `run` prints
// one; `soak` collects many.

import { createMachineMemory } from '../../native-layout/memory.js';
import type { MachineShape } from '../../native-layout/shape.js';
import { checkRunConfig, runFree } from '../engine/index.js';
import type { TestFaults } from '../workloads/index.js';
import { lastEventsAllCpus } from '../trace/ring.js';
import { buildRunReport, type RunReportObject } from '../report/run-report.js';
import { TOOL_VERSION } from './version.js';
import { UsageError } from './errors.js';
import { ScenarioOptionError } from '../workloads/mm/options.js';

/** Trace events per CPU attached to a violation record. */
const LAST_EVENTS_PER_CPU = 8;

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
  /** shootdown profile: write each CPU's V8 CPU profile here (unbundled workers, so frames name source files). */
  readonly profileDir?: string;
}

export interface RunOutcome {
  readonly report: RunReportObject;
  /** Why the run failed its checks, one phrase each; empty when it passed. */
  readonly failures: readonly string[];
}

/** The command line that runs the same configuration again. */
export function replayCommand(spec: RunSpec): string {
  const parts = ['shootdown run', spec.scenario, `--cpus ${spec.shape.cpus}`, `--seed ${spec.seed}`, `--mem ${spec.shape.memBytes / 2 ** 20}M`];
  if (spec.seconds !== undefined) parts.push(`--seconds ${spec.seconds}`);
  if (spec.ops !== undefined) parts.push(`--ops ${spec.ops}`);
  if (spec.variant !== 'ipi') parts.push(`--variant ${spec.variant}`);
  for (const b of spec.inject) parts.push(`--inject ${b}`);
  for (const [k, v] of Object.entries(spec.options ?? {})) parts.push(`--option ${k}=${String(v)}`);
  return parts.join(' ');
}

/** Refuses a spec whose scenario options are bad, by running only its set-up (no CPU starts). */
export function checkRunSpec(spec: RunSpec): void {
  try {
    checkRunConfig({
      scenario: spec.scenario, memory: createMachineMemory(spec.shape), seed: spec.seed, inject: spec.inject,
      options: { ...spec.options, variant: spec.variant }, seconds: 1,
    });
  } catch (e) {
    if (e instanceof ScenarioOptionError) throw new UsageError(`--option: ${e.message}`);
    throw e;
  }
}

export async function runOnce(spec: RunSpec): Promise<RunOutcome> {
  const mem = createMachineMemory(spec.shape);
  let result;
  try {
    result = await runFree({
    scenario: spec.scenario, memory: mem, seed: spec.seed, inject: spec.inject, watchdogMs: spec.watchdogMs, onFault: 'return',
    options: { ...spec.options, variant: spec.variant },
    ...(spec.testFaults ? { testFaults: spec.testFaults } : {}),
    ...(spec.seconds !== undefined ? { seconds: spec.seconds } : {}),
    ...(spec.ops !== undefined ? { ops: spec.ops } : {}),
    ...(spec.profileDir !== undefined ? { profileDir: spec.profileDir, workerBundle: false } : {}),
    });
  } catch (e) {
    // Bad scenario options are found by the scenario's set-up, before any CPU starts.
    if (e instanceof ScenarioOptionError) throw new UsageError(`--option: ${e.message}`);
    throw e;
  }
  // The scenario's own end-of-run scan (allocator, page tables, TLBs vs
  // free frames, lost frames) ran in runFree once every CPU was gone.
  const end = result.endCheck?.violations ?? [];
  const first = result.violationRecords[0] ?? null;
  const report = buildRunReport({
    result, variant: spec.variant, inject: spec.inject, memBytes: spec.shape.memBytes,
    violations: result.violationRecords, violationCount: result.violations,
    endCheck: end, framesLost: result.framesLost,
    replay: replayCommand(spec), toolVersion: TOOL_VERSION,
    lastEvents: first ? lastEventsAllCpus(mem, LAST_EVENTS_PER_CPU) : [],
  });
  const totals = report['totals'] as Record<string, number>;
  const failures: string[] = [];
  if (totals['violations']! > 0) failures.push(`${totals['violations']} violation(s)`);
  if (totals['framesLost']! > 0) failures.push(`${totals['framesLost']} frame(s) lost`);
  if (end.length > 0) failures.push(`${end.length} end-of-run problem(s)`);
  if (result.fault) failures.push(result.fault.message.split('\n')[0]!);
  return { report, failures };
}
