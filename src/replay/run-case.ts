// Running a ReplayCase: the case becomes the RunSpec that `run --engine
// serialized` would build from the same line, and the run's failure is
// reduced to its signature (what kind of failure, not where or how often).
// hunt and shrink compare signatures: "the same violation" means the same
// signature.

import { findScenario, UnknownScenarioError } from '../workloads/index.js';
import { setInjected, UnknownBugError } from '../check/bugs.js';
import type { RunReportObject } from '../report/run-report.js';
import { runOnce, type RunOutcome, type RunSpec } from '../cli/run-once.js';
import { parseVariantOption } from '../cli/run-command.js';
import { shapeFromOptions } from '../cli/machine-options.js';
import { defaultMemFor } from '../cli/scenario-options.js';
import { UsageError } from '../cli/errors.js';
import type { ReplayCase } from './replay-line.js';

/** The RunSpec of a case; a bad scenario, variant, bug or machine size is a UsageError (one line). */
export function specOfCase(c: ReplayCase): RunSpec {
  try {
    findScenario(c.scenario);
    setInjected(c.inject);
  } catch (e) {
    if (e instanceof UnknownScenarioError || e instanceof UnknownBugError) throw new UsageError(e.message);
    throw e;
  }
  const variant = parseVariantOption(c.variant);
  const cpus = String(c.cpus);
  const mem = c.memMiB > 0 ? `${c.memMiB}M` : defaultMemFor(c.scenario, c.cpus);
  return {
    scenario: c.scenario, shape: shapeFromOptions({ mem, cpus }), seed: c.seed, variant, inject: c.inject,
    watchdogMs: c.watchdogMs, options: c.options, profile: c.profile, ops: c.ops,
    engine: 'serialized', schedSeed: c.schedSeed, sched: c.sched, preemptions: c.preemptions,
  };
}

/** The case with its memory size written out (the default of its scenario at its CPU count when it had none). */
export function withExplicitMem(c: ReplayCase): ReplayCase {
  if (c.memMiB > 0) return c;
  let text: string;
  try {
    text = defaultMemFor(c.scenario, c.cpus);
  } catch (e) {
    if (e instanceof UnknownScenarioError) throw new UsageError(e.message);
    throw e;
  }
  return { ...c, memMiB: Number(text.replace(/M$/, '')) };
}

/**
 * What kind of failure a run had, as a short stable string, or null when it
 * passed: `violation:<kind>` for the oracle's first record, `watchdog` for a
 * hung IPI, `fault` for an exception in a CPU, `end-check` for a problem the
 * end-of-run scan found, `frames-lost` for lost frames. The first that
 * applies wins, in that order (a violation usually causes the rest).
 */
export function failureSignature(report: RunReportObject): string | null {
  const records = report['violationRecords'] as { kind: string }[];
  if (records.length > 0) return `violation:${records[0]!.kind}`;
  const totals = report['totals'] as Record<string, number>;
  if (totals['violations']! > 0) return 'violation';
  if (String(report['stoppedBy']) === 'watchdog') return 'watchdog';
  if (String(report['fault'] ?? '') !== '') return 'fault';
  if ((report['endCheck'] as string[]).length > 0) return 'end-check';
  if (totals['framesLost']! > 0) return 'frames-lost';
  return null;
}

export interface CaseResult {
  readonly outcome: RunOutcome;
  readonly signature: string | null;
}

/** Runs a case once on the serialized engine. */
export async function runCase(c: ReplayCase, extra: Partial<RunSpec> = {}): Promise<CaseResult> {
  const outcome = await runOnce({ ...specOfCase(c), ...extra });
  return { outcome, signature: failureSignature(outcome.report) };
}
