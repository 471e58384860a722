// `shootdown run <scenario>`: one run on the free engine, reported as a
// RunReport (table or the proto3 JSON mapping), optionally written as a
// binary protobuf file.

import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { SCENARIOS, findScenario, UnknownScenarioError } from '../workloads/index.js';
import { setInjected } from '../check/bugs.js';
import type { RunReportObject } from '../report/run-report.js';
import { runOnce, type RunOutcome } from './run-once.js';
import { MAX_PREEMPTIONS, SCHED_POLICIES, firstDifference } from '../engine/index.js';
import { ProfileError, loadProfile } from '../cost/profile.js';
import { defaultMemFor, parseScenarioOptions } from './scenario-options.js';
import { encodeMessage, toProtoJson } from '../report/schema.js';
import { CheckFailedError, UsageError } from './errors.js';
import { FORMATS, renderTable } from './format.js';
import { assertHostCanHold, shapeFromOptions } from './machine-options.js';
import { parseChoice, parseIntInRange } from './parse.js';
import { parseVariant, VariantError } from '../kernel/variant.js';

/** --variant, validated at the edge: the canonical spelling (src/kernel/variant.ts grammar), or one line and exit 2. */
export function parseVariantOption(text: string): string {
  try {
    return parseVariant(text).name;
  } catch (e) {
    if (e instanceof VariantError) throw new UsageError(e.message);
    throw e;
  }
}

export interface RunOptions {
  list?: boolean;
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
  watchdogMs: string;
  progress?: boolean;
  /** Engine self-test only (hidden flag): the watchdog must catch this CPU. */
  testNeverAck?: string;
  engine: string;
  schedSeed: string;
  sched: string;
  preemptions: string;
  checkDeterminism?: boolean;
  profile: string;
}

export const ENGINES = ['free', 'serialized'] as const;

export function listScenarios(): string {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  return SCENARIOS.map((s) => `${s.name.padEnd(width)}  ${s.description}`).join('\n');
}

export function parseSeconds(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !(n > 0) || n > 7 * 86400) {
    throw new UsageError(`--seconds "${text}" is not a duration: use a number of seconds above 0 (e.g. 5 or 0.5)`);
  }
  return n;
}

const COLUMNS = [
  ['ops', 'ops'], ['accesses', 'accesses'], ['tlbHits', 'TLB hits'], ['tlbMisses', 'misses'], ['walks', 'walks'],
  ['ipisSent', 'IPIs sent'], ['ipisReceived', 'IPIs recv'], ['flushesLocal', 'local'], ['flushesRemote', 'remote'],
  ['flushesFull', 'full'], ['violations', 'violations'],
] as const;

function renderReport(r: RunReportObject): string {
  const row = (label: string, c: Record<string, number>): (string | number)[] => [label, ...COLUMNS.map(([k]) => c[k] ?? 0)];
  const perCpu = (r['perCpu'] as { cpu: number; counters: Record<string, number> }[]).map((p) => row(`cpu ${p.cpu}`, p.counters));
  const totals = r['totals'] as Record<string, number>;
  const lines = [
    `scenario ${r['scenario']} | variant ${r['variant']} | ${r['cpus']} CPUs | seed ${r['seed']}${(r['inject'] as string[]).length ? ` | inject ${(r['inject'] as string[]).join(',')}` : ''}`,
    renderTable(['cpu', ...COLUMNS.map(([, h]) => h)], [...perCpu, row('total', totals)]),
    `${Math.round(r['opsPerSec'] as number).toLocaleString('en-US')} loops/s over ${((r['durationMs'] as number) / 1000).toFixed(2)} s (stopped by ${r['stoppedBy']})`,
    `simulated (${r['profile']}): ${Math.round(r['opsPerSimSecond'] as number).toLocaleString('en-US')} loops per simulated second, ${(r['simElapsedMs'] as number).toFixed(3)} ms simulated`,
    `violations: ${totals['violations']}   frames lost: ${totals['framesLost']}`,
  ];
  for (const v of r['violationRecords'] as Record<string, unknown>[]) {
    lines.push(`first violation: ${v['kind']} on cpu ${v['cpu']} task ${v['task']} va 0x${(v['va'] as number).toString(16)} pfn ${v['pfn']} generation ${v['fillGen']} -> ${v['frameGen']} at op ${v['op']}${(v['slotCpu'] as number | undefined) !== undefined && (v['slotCpu'] as number) >= 0 ? ` (slot of cpu ${v['slotCpu']})` : ''}`);
    lines.push(`replay: ${v['replay']}`);
    const events = v['lastEvents'] as { cpu: number; op: number; kind: string; args: string }[];
    if (events.length > 0) lines.push('last events (per CPU, oldest first):');
    for (const e of events) lines.push(`  cpu ${e.cpu} op ${e.op} ${e.kind} ${e.args}`);
  }
  for (const p of r['endCheck'] as string[]) lines.push(`end-of-run check: ${p}`);
  if (r['fault']) lines.push(`fault: ${r['fault']}`);
  return lines.join('\n');
}

/** Shows elapsed time on stderr for a timed run, when a person is watching. */
function startProgress(seconds: number | undefined, enabled: boolean): () => void {
  if (!enabled || seconds === undefined || !process.stderr.isTTY || process.env['CI']) return () => {};
  const bar = new cliProgress.SingleBar({ format: 'running [{bar}] {value}/{total} s', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(Math.ceil(seconds), 0);
  const t0 = Date.now();
  const timer = setInterval(() => bar.update(Math.min(Math.ceil(seconds), Math.floor((Date.now() - t0) / 1000))), 250);
  return () => { clearInterval(timer); bar.stop(); };
}

export async function runRun(scenarioArg: string | undefined, o: RunOptions, print: (t: string) => void): Promise<void> {
  if (o.list) { print(listScenarios()); return; }
  if (!scenarioArg) throw new UsageError(`run: name a scenario (${SCENARIOS.map((s) => s.name).join(', ')}) or use --list`);
  try {
    findScenario(scenarioArg);
  } catch (e) {
    if (e instanceof UnknownScenarioError) throw new UsageError(e.message);
    throw e;
  }
  const format = parseChoice('--format', o.format, FORMATS);
  const variant = parseVariantOption(o.variant);
  const seed = parseIntInRange('--seed', o.seed, 0, 2 ** 32 - 1);
  const watchdogMs = parseIntInRange('--watchdog-ms', o.watchdogMs, 10, 3_600_000);
  const ops = o.ops !== undefined ? parseIntInRange('--ops', o.ops, 1, Number.MAX_SAFE_INTEGER) : undefined;
  const seconds = o.seconds !== undefined ? parseSeconds(o.seconds) : ops === undefined ? 5 : undefined;
  setInjected(o.inject); // validates the names here, in the main thread, before any worker starts
  const scenarioOptions = parseScenarioOptions(o.option);
  const shape = shapeFromOptions({ mem: o.mem ?? defaultMemFor(scenarioArg, shapeFromOptions({ cpus: o.cpus }).cpus), cpus: o.cpus });
  const neverAckCpu = o.testNeverAck !== undefined ? parseIntInRange('--test-never-ack', o.testNeverAck, 0, shape.cpus - 1) : undefined;
  assertHostCanHold(shape);

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
  const spec = {
    profile: o.profile,
    scenario: scenarioArg, shape, seed, variant, inject: o.inject, watchdogMs, options: scenarioOptions,
    ...(neverAckCpu !== undefined ? { testFaults: { neverAckCpu } } : {}),
    ...(seconds !== undefined && engine === 'free' ? { seconds } : {}), ...(ops !== undefined ? { ops } : {}),
    ...(engine === 'serialized' ? { engine, schedSeed, sched, preemptions } : {}),
  };
  const stopProgress = startProgress(engine === 'free' ? seconds : undefined, o.progress !== false && format === 'table');
  let outcome: RunOutcome;
  let again: RunOutcome | null = null;
  try {
    outcome = await runOnce(spec);
    if (o.checkDeterminism) again = await runOnce(spec);
  } finally {
    stopProgress();
  }
  const { report } = outcome;
  const failures = [...outcome.failures];
  if (again !== null) {
    const d1 = report['digest'] as string;
    const d2 = again.report['digest'] as string;
    if (d1 !== d2) {
      const where = firstDifference(outcome.mem, again.mem) ?? 'the digests';
      failures.push(`not deterministic: two runs of one configuration differ (digest ${d1} vs ${d2}; first difference: ${where})`);
    }
    if (format === 'table') print(`determinism: ${d1 === d2 ? 'two runs gave the same digest' : 'runs DIFFER'} (${d1}${d1 === d2 ? '' : ` vs ${d2}`})`);
  }
  // Write the file first: a later failure must not lose what the run produced.
  if (o.out) writeFileSync(o.out, encodeMessage('RunReport', report));
  print(format === 'json' ? JSON.stringify(toProtoJson('RunReport', report), null, 2) : renderReport(report));

  if (failures.length > 0) throw new CheckFailedError(`run ${scenarioArg}: ${failures.join('; ')}`);
}
