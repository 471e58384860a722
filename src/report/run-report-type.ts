// The typed shape of a RunReport (proto/report.proto) as a plain object:
// what `run --format json` prints and what the library's runScenario
// returns. The counter keys come from COUNTER_NAMES through a mapped type,
// so a counter added there appears here without an edit.

import type { CounterName } from '../../native-layout/counters.js';

/** One number per counter (COUNTER_NAMES), summed over the run's ops. */
export type CounterValues = { [K in CounterName]: number };

/** The run's totals: every counter, with violations as the oracle counted them, and frames lost. */
export type ReportTotals = CounterValues & { framesLost: number };

/** One trace event (src/trace/ring.ts), as a report carries it. */
export interface ReportTraceEvent {
  cpu: number;
  /** Low 24 bits of the CPU's op number when it happened. */
  op: number;
  kind: string;
  args: string;
}

/** One CPU's counters, wall time (ms) and simulated cycles (profile). */
export interface ReportCpuCounters {
  cpu: number;
  counters: CounterValues;
  runMs: number;
  simCycles?: number;
}

/** One violation the oracle kept (proto ViolationRecord). */
export interface ReportViolationRecord {
  /** A VIOLATION_NAMES name. */
  kind: string;
  cpu: number;
  task: number;
  va: number;
  pfn: number;
  fillGen: number;
  frameGen: number;
  op: number;
  slotCpu: number;
  swWalker: string;
  swLevel: number;
  swFreedBy: number;
  /** The command line that reruns the configuration. */
  replay: string;
  lastEvents: ReportTraceEvent[];
}

/** The fields buildRunReport fills (the run itself and its provenance). */
export interface RunReportBase {
  scenario: string;
  /** The design that ran (`--variant` grammar or a design module's name). */
  variant: string;
  cpus: number;
  seed: number;
  inject: string[];
  memBytes: number;
  stoppedBy: string;
  durationMs: number;
  opsPerSec: number;
  totals: ReportTotals;
  perCpu: ReportCpuCounters[];
  violationRecords: ReportViolationRecord[];
  violationKinds: { kind: string; count: number }[];
  /** End-of-run scan problems, one line each. */
  endCheck: string[];
  /** A CPU's fault message, '' when none. */
  fault: string;
  engine: string;
  /**
   * Where the CPU workers ran V8's optimizing compiles: 'background' (V8's
   * compiler threads) or 'on-cpu' (each CPU's own thread; src/engine/worker-jit.ts).
   */
  workerJit: 'background' | 'on-cpu';
  /** Whether the CPUs halt-polled for csd acks (src/engine/halt-poll.ts). */
  haltPoll: boolean;
  /** The scenario's own tallies summed over the CPUs, non-zero ones, in declaration order. */
  scenarioStats: { name: string; value: number }[];
  toolVersion: string;
  schedSeed: number;
  sched: string;
  preemptions: number;
  schedSteps: number;
  digest: string;
  interrupted: boolean;
  interruptSignal: string;
  seconds: number;
  opsLimit: number;
  watchdogMs: number;
  /** "key=value" scenario options. */
  options: string[];
  shard: string;
  /** The command line that runs the configuration again. */
  rerun: string;
  lockdep: string;
}

/**
 * A finished run's report: the base fields, the design fields
 * (src/report/design-report.ts), simulated time under a CPU profile
 * (src/cost), and the trace timeline when `--html` asked for one.
 */
export interface RunReport extends RunReportBase {
  /** The design's name, its base variant, its module path ('' for a built-in), "point=policy" per extension point. */
  design: string;
  designBase: string;
  designSource: string;
  designPolicies: string[];
  /** CPU profile name, simulated elapsed ms, ops per simulated second, simulated cycles. */
  profile: string;
  simElapsedMs: number;
  opsPerSimSecond: number;
  simCycles: number;
  timeline?: { events: ReportTraceEvent[]; perCpu: number; ringEntries: number };
}
