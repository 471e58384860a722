// One run, start to report: a fresh machine, the free engine, the oracle's
// records and the end-of-run scan, folded into a RunReport. `run` prints
// one; `soak` collects many.

import { createMachineMemory, type MachineMemory } from '../../native-layout/memory.js';
import { ZONE_MANAGED_PAGES } from '../../native-layout/fields.js';
import type { MachineShape } from '../../native-layout/shape.js';
import { runFree } from '../engine/index.js';
import type { TestFaults } from '../workloads/index.js';
import { firstViolation, violationCount } from '../check/oracle.js';
import { checkAllocator } from '../check/allocator-invariants.js';
import { lastEventsAllCpus } from '../trace/ring.js';
import { buildRunReport, type RunReportObject } from '../report/run-report.js';
import { TOOL_VERSION } from './version.js';

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
}

export interface RunOutcome {
  readonly report: RunReportObject;
  /** Why the run failed its checks, one phrase each; empty when it passed. */
  readonly failures: readonly string[];
}

/**
 * End-of-run scan. The allocator half runs whenever the scenario booted an
 * allocator; a scenario that never allocates cannot lose frames.
 */
function endOfRun(mem: MachineMemory): { problems: string[]; framesLost: number } {
  if (mem.views.zone[ZONE_MANAGED_PAGES] === 0) return { problems: [], framesLost: 0 };
  const problems = checkAllocator(mem).map((v) => v.message);
  return { problems, framesLost: 0 };
}

/** The command line that runs the same configuration again. */
export function replayCommand(spec: RunSpec): string {
  const parts = ['shootdown run', spec.scenario, `--cpus ${spec.shape.cpus}`, `--seed ${spec.seed}`, `--mem ${spec.shape.memBytes / 2 ** 20}M`];
  if (spec.seconds !== undefined) parts.push(`--seconds ${spec.seconds}`);
  if (spec.ops !== undefined) parts.push(`--ops ${spec.ops}`);
  if (spec.variant !== 'ipi') parts.push(`--variant ${spec.variant}`);
  for (const b of spec.inject) parts.push(`--inject ${b}`);
  return parts.join(' ');
}

export async function runOnce(spec: RunSpec): Promise<RunOutcome> {
  const mem = createMachineMemory(spec.shape);
  const result = await runFree({
    scenario: spec.scenario, memory: mem, seed: spec.seed, inject: spec.inject, watchdogMs: spec.watchdogMs, onFault: 'return',
    options: { variant: spec.variant },
    ...(spec.testFaults ? { testFaults: spec.testFaults } : {}),
    ...(spec.seconds !== undefined ? { seconds: spec.seconds } : {}),
    ...(spec.ops !== undefined ? { ops: spec.ops } : {}),
  });
  const end = endOfRun(mem);
  const first = firstViolation(mem.views);
  const report = buildRunReport({
    result, variant: spec.variant, inject: spec.inject, memBytes: spec.shape.memBytes,
    violations: first ? [first] : [], violationCount: violationCount(mem.views),
    endCheck: end.problems, framesLost: end.framesLost,
    replay: replayCommand(spec), toolVersion: TOOL_VERSION,
    lastEvents: first ? lastEventsAllCpus(mem, LAST_EVENTS_PER_CPU) : [],
  });
  const totals = report['totals'] as Record<string, number>;
  const failures: string[] = [];
  if (totals['violations']! > 0) failures.push(`${totals['violations']} violation(s)`);
  if (totals['framesLost']! > 0) failures.push(`${totals['framesLost']} frame(s) lost`);
  if (end.problems.length > 0) failures.push(`${end.problems.length} end-of-run problem(s)`);
  if (result.fault) failures.push(result.fault.message.split('\n')[0]!);
  return { report, failures };
}
