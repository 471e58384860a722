// Turns an engine result into a RunReport (proto/report.proto): the one
// shape `run --format json` prints and `--out` writes.

import { COUNTER_NAMES } from '../../native-layout/counters.js';
import type { FreeRunResult } from '../engine/index.js';
import type { ViolationRecord } from '../check/oracle.js';
import { VIOLATION_NAMES } from '../check/oracle.js';
import type { TraceEvent } from '../trace/ring.js';
import type { CounterValues, RunReportBase } from './run-report-type.js';

export type { RunReport, RunReportBase, ReportTotals, CounterValues } from './run-report-type.js';

export interface RunReportInput {
  readonly result: FreeRunResult;
  readonly variant: string;
  readonly inject: readonly string[];
  readonly memBytes: number;
  readonly violations: readonly ViolationRecord[];
  readonly violationCount: number;
  readonly endCheck: readonly string[];
  readonly framesLost: number;
  readonly replay: string;
  readonly toolVersion: string;
  /** Every CPU's last trace events when a kept violation happened (by its record). */
  readonly lastEventsOf: (v: ViolationRecord) => readonly TraceEvent[];
  /** What produced the report and how it ended (proto fields 17..24). */
  readonly provenance?: RunProvenance;
}

/** The run's configuration and end, recorded so a report file explains itself. */
export interface RunProvenance {
  readonly interrupted: boolean;
  readonly interruptSignal: string;
  /** Requested seconds (0: none) and ops per CPU (0: none). */
  readonly seconds: number;
  readonly opsLimit: number;
  readonly watchdogMs: number;
  /** "key=value" scenario options. */
  readonly options: readonly string[];
  /** "i/n" for a soak shard's run, else empty. */
  readonly shard: string;
}

/** A plain object in the message's camelCase field names. */
export type RunReportObject = Record<string, unknown>;

function countersOf(c: Readonly<Record<string, number>>): CounterValues {
  const out: Record<string, number> = {};
  for (const name of COUNTER_NAMES) out[name] = c[name] ?? 0;
  return out as CounterValues;
}

/**
 * The numeric fields of the CPUs' summaries (the scenario programs' own
 * tallies), summed, non-zero ones, in the order the first summary has them.
 */
export function scenarioStats(perCpu: readonly { readonly summary?: Record<string, unknown> | null }[]): { name: string; value: number }[] {
  const sums = new Map<string, number>();
  for (const c of perCpu) {
    for (const [name, v] of Object.entries(c.summary ?? {})) {
      if (typeof v === 'number' && Number.isFinite(v)) sums.set(name, (sums.get(name) ?? 0) + v);
    }
  }
  return [...sums].filter(([, v]) => v !== 0).map(([name, value]) => ({ name, value }));
}

export function buildRunReport(input: RunReportInput): RunReportObject {
  const { result } = input;
  // `satisfies` keeps the typed RunReport (run-report-type.ts) and this
  // object in step: a field added or renamed on one side only fails tsc.
  const report = {
    scenario: result.scenario,
    variant: input.variant,
    cpus: result.cpus,
    seed: result.seed >>> 0,
    inject: [...input.inject],
    memBytes: input.memBytes,
    stoppedBy: result.stoppedBy,
    durationMs: result.durationMs,
    opsPerSec: result.opsPerSec,
    // The oracle's count is authoritative: counter blocks of CPUs that
    // faulted mid-op may lag it.
    totals: { ...countersOf(result.totals), violations: Math.max(input.violationCount, result.totals.violations), framesLost: input.framesLost },
    perCpu: result.perCpu.map((c) => ({ cpu: c.cpu, counters: countersOf(c.counters), runMs: c.runMs })),
    violationRecords: input.violations.map((v) => ({
      kind: VIOLATION_NAMES[v.kind] ?? String(v.kind),
      cpu: v.cpu,
      task: v.task,
      va: v.va,
      pfn: v.pfn,
      fillGen: v.fillGen,
      frameGen: v.frameGen,
      op: v.op,
      slotCpu: v.slotCpu,
      swWalker: v.swWalker,
      swLevel: v.swLevel,
      swFreedBy: v.swFreedBy,
      replay: input.replay,
      lastEvents: input.lastEventsOf(v).map((e) => ({ ...e })),
    })),
    violationKinds: result.violationKinds.map((k) => ({ ...k })),
    endCheck: [...input.endCheck],
    fault: result.fault ? result.fault.message : '',
    engine: result.engine,
    workerJit: result.workerJit,
    haltPoll: result.haltPoll,
    scenarioStats: scenarioStats(result.perCpu),
    toolVersion: input.toolVersion,
    schedSeed: result.engine === 'serialized' ? result.schedSeed >>> 0 : 0,
    sched: result.engine === 'serialized' ? result.sched : '',
    preemptions: result.engine === 'serialized' && result.sched === 'pct' ? result.preemptions : 0,
    schedSteps: result.schedSteps,
    digest: result.digest,
    interrupted: input.provenance?.interrupted ?? false,
    interruptSignal: input.provenance?.interruptSignal ?? '',
    seconds: input.provenance?.seconds ?? 0,
    opsLimit: input.provenance?.opsLimit ?? 0,
    watchdogMs: input.provenance?.watchdogMs ?? 0,
    options: [...(input.provenance?.options ?? [])],
    shard: input.provenance?.shard ?? '',
    rerun: input.replay,
    lockdep: result.lockdep ?? '',
  } satisfies RunReportBase;
  return report;
}
