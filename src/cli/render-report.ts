// The table form of a RunReport (`run`, `report show`) and of a soak
// summary (`soak`, `report show`). Every column is defined in the README's
// "Counters" section.

import { fioReadsPerOp } from '../report/compare.js';
import type { RunReportObject } from '../report/run-report.js';
import { LOCK_CLASS_NAMES, heldStackNames } from '../check/lockdep.js';
import { SCENARIO_OWN_COUNTERS, resolvedKeyOptions } from '../report/scenario-counters.js';
import { renderTable } from './format.js';
import { VIOLATION_RECORDS_PER_KIND, VIOLATION_SLOTS } from '../../native-layout/regions.js';

/** Per-CPU table columns: counter name, header. */
const COLUMNS = [
  ['ops', 'ops'], ['accesses', 'accesses'], ['tlbHits', 'TLB hits'], ['tlbMisses', 'misses'], ['walks', 'walks'],
  ['ipisSent', 'IPIs sent'], ['ipisReceived', 'IPIs recv'], ['flushesLocal', 'local'], ['flushesRemote', 'remote'],
  ['flushesFull', 'full'], ['invlpgb', 'INVLPGB'], ['violations', 'violations'],
] as const;

function provenanceLine(r: RunReportObject): string {
  const parts = [
    `scenario ${String(r['scenario'])}`, `variant ${String(r['variant'])}`, `${String(r['cpus'])} CPUs`, `seed ${String(r['seed'])}`,
    `mem ${Number(r['memBytes']) / 2 ** 20}M`,
  ];
  const seconds = Number(r['seconds'] ?? 0);
  const ops = Number(r['opsLimit'] ?? 0);
  if (seconds > 0) parts.push(`${seconds} s`);
  if (ops > 0) parts.push(`${ops} ops/CPU`);
  if (Number(r['watchdogMs'] ?? 0) > 0) parts.push(`watchdog ${String(r['watchdogMs'])} ms`);
  const inject = r['inject'] as string[];
  if (inject.length) parts.push(`inject ${inject.join(',')}`);
  const options = (r['options'] as string[] | undefined) ?? [];
  // The scenario's key options (guest-memfd recursion/leaves, mshare
  // strategy) as resolved, defaults included: the run's answer is named
  // even when the user gave none.
  const key = resolvedKeyOptions(String(r['scenario']), options);
  const rest = options.filter((kv) => !key.includes(kv));
  if (key.length || rest.length) parts.push(`options ${[...rest, ...key].join(' ')}`);
  if (r['shard']) parts.push(`shard ${String(r['shard'])}`);
  // Reports written before the field have none (proto default '').
  if (r['workerJit']) parts.push(`worker JIT ${String(r['workerJit'])}`);
  if (r['haltPoll'] === true) parts.push('halt-polling');
  parts.push(`shootdown ${String(r['toolVersion'])}`);
  return parts.join(' | ');
}

/** A RunReport as the `run` command prints it. */
/** Simulated throughput in the scenario's unit: fio-randread counts reads (readsPerOp per op), the others loops (ops). */
function simThroughputText(r: RunReportObject): string {
  const ops = r['opsPerSimSecond'] as number;
  if (r['scenario'] !== 'fio-randread') return `${Math.round(ops).toLocaleString('en-US')} loops per simulated second`;
  const perOp = fioReadsPerOp(r);
  return `${Math.round(ops * perOp).toLocaleString('en-US')} reads per simulated second (${perOp} per op)`;
}

export function renderReport(r: RunReportObject): string {
  const row = (label: string, c: Record<string, number>): (string | number)[] => [label, ...COLUMNS.map(([k]) => c[k] ?? 0)];
  const perCpu = (r['perCpu'] as { cpu: number; counters: Record<string, number> }[]).map((p) => row(`cpu ${p.cpu}`, p.counters));
  const totals = r['totals'] as Record<string, number>;
  const lines = [
    provenanceLine(r),
    renderTable(['cpu', ...COLUMNS.map(([, h]) => h)], [...perCpu, row('total', totals)]),
    ...ownCountersLines(r),
    ...scenarioStatsLines(r),
    `${Math.round(r['opsPerSec'] as number).toLocaleString('en-US')} loops/s over ${((r['durationMs'] as number) / 1000).toFixed(2)} s (stopped by ${String(r['stoppedBy'])})`,
    `simulated (${String(r['profile'])}): ${simThroughputText(r)}, ${(r['simElapsedMs'] as number).toFixed(3)} ms simulated`,
    `violations: ${totals['violations']!.toLocaleString('en-US')}${kindCounts(r)}   frames lost: ${totals['framesLost']!.toLocaleString('en-US')}`,
  ];
  if (r['interrupted'] === true) {
    lines.push(`INTERRUPTED by ${String(r['interruptSignal'] || 'a signal')}: partial run, the counters cover ${((r['durationMs'] as number) / 1000).toFixed(2)} s`);
  }
  const records = r['violationRecords'] as Record<string, unknown>[];
  if (records.length > 0 && records.length < totals['violations']!) {
    lines.push(`(${records.length} records kept: the first ${VIOLATION_RECORDS_PER_KIND} of each kind, ${VIOLATION_SLOTS} at most)`);
  }
  records.forEach((v, i) => {
    const label = i === 0 ? 'first violation' : `violation ${i + 1}`;
    if (LOCKDEP_RECORD_KINDS.has(String(v['kind']))) lines.push(`${label}: ${lockdepRecordText(v)}`);
    else if (isEphemeralAudit(v)) lines.push(`${label}: ${ephemeralAuditText(v)}`);
    else if (v['kind'] === 'freed-table-cached') lines.push(`${label}: ${freedTableText(v)}`);
    else if (v['kind'] === 'writeback-dirty-cached') lines.push(`${label}: ${writebackCachedText(v)}`);
    else if (v['kind'] === 'sw-walk-moved-table') lines.push(`${label}: ${movedTableText(v)}`);
    else if (v['kind'] === 'user-fault-loop') lines.push(`${label}: ${userFaultLoopText(v)}`);
    else lines.push(`${label}: ${String(v['kind'])} on cpu ${String(v['cpu'])} task ${String(v['task'])} va 0x${(v['va'] as number).toString(16)} pfn ${String(v['pfn'])} generation ${String(v['fillGen'])} -> ${String(v['frameGen'])} at op ${String(v['op'])}${typeof v['slotCpu'] === 'number' && v['slotCpu'] >= 0 ? ` (slot of cpu ${v['slotCpu']})` : ''}${typeof v['swWalker'] === 'string' && v['swWalker'] !== '' ? ` (walker ${v['swWalker']}, level ${String(v['swLevel'])}, table freed by cpu ${String(v['swFreedBy'])})` : ''}${gmemNote(v)}`);
    const events = v['lastEvents'] as { cpu: number; op: number; kind: string; args: string }[];
    if (events.length > 0) lines.push('  every CPU\'s last events when it happened (per CPU, oldest first):');
    for (const e of events) lines.push(`    cpu ${e.cpu} op ${e.op} ${e.kind} ${e.args}`);
  });
  if (r['lockdep']) lines.push(`lockdep: ${String(r['lockdep'])}`);
  for (const p of r['endCheck'] as string[]) lines.push(`end-of-run check: ${p}`);
  if (r['fault']) lines.push(`fault: ${String(r['fault'])}`);
  const failed = totals['violations']! > 0 || totals['framesLost']! > 0 || (r['endCheck'] as string[]).length > 0 || Boolean(r['fault']);
  const rerun = String(r['rerun'] || (records[0]?.['replay'] ?? ''));
  // Every kind of failure gets the line; it reruns the configuration, it
  // does not replay the schedule (host thread timing differs every time).
  if (failed && rerun) {
    // A serialized run's line names its schedule: it replays exactly.
    lines.push(r['engine'] === 'serialized' ? `replay (exact: serialized engine): ${rerun}` : `rerun (same configuration, not an exact replay): ${rerun}`);
  }
  return lines.join('\n');
}

/** The scenario's own tallies (summed over the CPUs), wrapped: empty when it has none. */
function scenarioStatsLines(r: Record<string, unknown>): string[] {
  const stats = (r['scenarioStats'] as { name: string; value: number }[] | undefined) ?? [];
  if (stats.length === 0) return [];
  const items = stats.map((x) => `${x.name} ${x.value.toLocaleString('en-US')}`);
  const lines: string[] = [];
  let line = 'scenario tallies (all CPUs):';
  for (const item of items) {
    if (line.length + item.length > 100) {
      lines.push(line);
      line = ' ';
    }
    line += ` ${item}`;
  }
  lines.push(line);
  return lines;
}

/** " (stale-tlb 12,431, isolation 8)": the per-kind counts, empty when there are none. */
function kindCounts(r: Record<string, unknown>): string {
  const kinds = (r['violationKinds'] as { kind: string; count: number }[] | undefined) ?? [];
  if (kinds.length === 0) return '';
  return ` (${kinds.map((k) => `${k.kind} ${k.count.toLocaleString('en-US')}`).join(', ')})`;
}

interface SummaryResult {
  scenario: string; seed: number; passed: boolean; violations: number; framesLost: number; opsPerSec: number;
  failures: string[]; rerun?: string; replay?: string; resumed?: boolean; fault?: string;
}

/** A soak summary (summary JSON) as the `soak` command prints it. */
export function renderSummary(s: Record<string, unknown>): string {
  const detecting = ((s['inject'] as string[] | undefined) ?? []).length > 0;
  const results = s['results'] as SummaryResult[];
  const scenarios = (s['scenarios'] as string[] | undefined) ?? [...new Set(results.map((r) => r.scenario))];
  const rows = scenarios.map((name) => {
    const rs = results.filter((r) => r.scenario === name);
    const mean = rs.length ? rs.reduce((t, r) => t + r.opsPerSec, 0) / rs.length : 0;
    return [name, rs.length, rs.filter((r) => r.passed).length, rs.reduce((t, r) => t + r.violations, 0), rs.reduce((t, r) => t + r.framesLost, 0), Math.round(mean)];
  }).filter((r) => (r[1] as number) > 0);
  const lines: string[] = [];
  if (s['toolVersion'] !== undefined) {
    lines.push([
      `soak shard ${String(s['shard'])}`, `variant ${String(s['variant'])}`, `${String(s['cpus'])} CPUs`, `mem ${String(s['mem'])}`,
      seedRange(s, results), `${String(s['secondsPerRun'])} s per run`,
      `watchdog ${String(s['watchdogMs'])} ms`, ...(detecting ? [`inject ${(s['inject'] as string[]).join(',')}`] : []),
      ...(Object.keys(s['options'] as object ?? {}).length ? [`options ${Object.entries(s['options'] as object).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`] : []),
      // Older and merged summaries have none (a merge's shards may have run on different hosts).
      ...(s['workerJit'] ? [`worker JIT ${String(s['workerJit'])}`] : []),
      `shootdown ${String(s['toolVersion'])}`,
    ].join(' | '));
  }
  lines.push(renderTable(['scenario', 'runs', detecting ? 'caught' : 'passed', 'violations', 'frames lost', 'loops/s (mean)'], rows));
  const resumed = results.filter((r) => r.resumed).length;
  if (resumed > 0) lines.push(`${resumed} run(s) kept from an earlier soak (--resume)`);
  for (const r of results.filter((x) => !x.passed)) {
    const rerun = r.rerun ?? r.replay ?? '';
    lines.push(detecting
      ? `not caught: ${r.scenario} seed ${r.seed}${rerun ? ` (rerun: ${rerun})` : ''}`
      : `failed: ${r.scenario} seed ${r.seed}: ${r.failures.join('; ')}${rerun ? ` (rerun: ${rerun})` : ''}`);
  }
  // --- soak fault survival (issue 10) ---
  if (s['stoppedAtFailure']) lines.push(`stopped at the first failure (${String(s['stoppedAtFailure'])}): --keep-going runs on past failures`);
  if (s['complete'] === false) {
    lines.push(`incomplete: ${results.length} of ${String(s['jobs'])} runs done${s['interrupted'] ? ` (interrupted by ${String(s['interruptSignal'])})` : ''}${s['writeError'] ? ` (${String(s['writeError'])})` : ''}`);
  }
  return lines.join('\n');
}

/** guest_memfd (issue 8): what gmem-direct-map's generation words hold, in words. */
/** An isolation record of the ephemeral maps' audit at loss of access (src/check/ephemeral-audit.ts): it names a slot. */
function isEphemeralAudit(v: Record<string, unknown>): boolean {
  return v['kind'] === 'isolation' && typeof v['slotCpu'] === 'number' && v['slotCpu'] >= 0;
}

/**
 * Its fields mean other things than the inline oracle's: fillGen is the
 * entry's fill generation, frameGen 1 for a speculative entry never used,
 * and task/op are the auditing CPU's (the one whose process lost access).
 */
function ephemeralAuditText(v: Record<string, unknown>): string {
  return `isolation: cpu ${String(v['cpu'])} still translates va 0x${(v['va'] as number).toString(16)} (slot of cpu ${String(v['slotCpu'])})`
    + ` to pfn ${String(v['pfn'])} after its process lost access (${v['frameGen'] === 1 ? 'a speculative entry never used' : 'an entry some access used'},`
    + ` filled at generation ${String(v['fillGen'])}; found by the audit at task ${String(v['task'])} op ${String(v['op'])})`;
}

/** A freed-table-cached record (src/check/ghost-table.ts). */
function freedTableText(v: Record<string, unknown>): string {
  return `freed-table-cached: cpu ${String(v['cpu'])}'s paging-structure cache still points at page table ${String(v['pfn'])}`
    + ` (the 2 MiB region at va 0x${(v['va'] as number).toString(16)}, table generation ${String(v['fillGen'])})`
    + ` as cpu ${String(v['frameGen'])} frees it`;
}

/** A writeback-dirty-cached record (src/check/ghost-writeback.ts). */
function writebackCachedText(v: Record<string, unknown>): string {
  return `writeback-dirty-cached: cpu ${String(v['cpu'])} can still store to page ${String(v['pfn'])} through a dirty, writable TLB entry`
    + ` (va 0x${(v['va'] as number).toString(16)} of mm ${String(v['slotCpu'])}, filled at generation ${String(v['fillGen'])})`
    + ` as cpu ${String(v['frameGen'])} writes the page back: a store now would be lost with the page`;
}

/** A sw-walk-moved-table record (src/check/sw-walk.ts swWalkReleaseLinked). */
function movedTableText(v: Record<string, unknown>): string {
  const now = v['frameGen'] as number;
  return `sw-walk-moved-table: cpu ${String(v['cpu'])} task ${String(v['task'])} (walker ${String(v['swWalker'])}) held page table ${String(v['pfn'])}`
    + ` found at va 0x${(v['va'] as number).toString(16)}, and when it let go the table was no longer linked there`
    + ` (${now < 0 ? 'nothing is' : `table ${now} is`}) at op ${String(v['op'])}: `
    + (now < 0
      ? 'it was unlinked (retracted, or moved away) while the walker held it, without the lock that excludes the walker'
      : 'it moved while the walker held it, and the walker\'s flush of that address missed its new place');
}

/** A user-fault-loop record (src/kernel/mm/uaccess.ts userAccess). */
function userFaultLoopText(v: Record<string, unknown>): string {
  return `user-fault-loop: cpu ${String(v['cpu'])} task ${String(v['task'])}: a user access of va 0x${(v['va'] as number).toString(16)} in mm ${String(v['frameGen'])}`
    + ` still faulted (code ${String(v['pfn'])}) after ${String(v['fillGen'])} retries, the fault handler reporting no error, at op ${String(v['op'])}:`
    + ' its PTE is not in the table the walk reads (written into a table unlinked under the handler?)';
}

function gmemNote(v: Record<string, unknown>): string {
  if (v['kind'] !== 'gmem-direct-map') return '';
  return ` (guest data of vCPU ${String(v['fillGen'])}, read through ${v['frameGen'] === 0 ? 'a TLB entry' : 'a walk'})`;
}

/**
 * The scenario's own counters (src/report/scenario-counters.ts) that are
 * non-zero in the totals, as one "name value" line; none when all are 0.
 */
function ownCountersLines(r: RunReportObject): string[] {
  const names = SCENARIO_OWN_COUNTERS[String(r['scenario'])] ?? [];
  const totals = r['totals'] as Record<string, number>;
  const shown = names.filter((n) => (totals[n] ?? 0) !== 0);
  if (shown.length === 0) return [];
  return [`${String(r['scenario'])} counters: ${shown.map((n) => `${n} ${(totals[n] ?? 0).toLocaleString('en-US')}`).join(', ')}`];
}

/** Violation kinds whose records lockdep writes (src/check/lockdep.ts): their fields hold lock classes, not addresses. */
const LOCKDEP_RECORD_KINDS = new Set(['lock-order', 'flush-under-lock', 'sleep-in-atomic', 'recursive-locking']);

/**
 * A lockdep record in words: va holds the class taken, pfn the held class
 * it conflicts with, fillGen / frameGen the packed held stacks of this CPU
 * and of the other one, slotCpu the other CPU (-1: the order declared at
 * boot). See the comment above V_LOCK_ORDER in src/check/oracle.ts.
 */
function lockdepRecordText(v: Record<string, unknown>): string {
  const cls = (n: unknown): string => LOCK_CLASS_NAMES[Number(n)] ?? `class ${String(n)}`;
  const other = typeof v['slotCpu'] === 'number' ? v['slotCpu'] : -1;
  const against = Number(v['pfn']) >= 0 ? ` (conflicts with ${cls(v['pfn'])}` : ' (';
  const by = other >= 0 ? `cpu ${other} held ${heldStackNames(Number(v['frameGen']))})` : 'the order declared at boot)';
  return `${String(v['kind'])} on cpu ${String(v['cpu'])} task ${String(v['task'])}: took ${cls(v['va'])} while holding `
    + `${heldStackNames(Number(v['fillGen']))}${against}${against === ' (' ? '' : '; '}${by} at op ${String(v['op'])}`;
}

/**
 * The header's seed range: seedStart..seedStart+seeds-1 for a fixed soak;
 * for a --minutes soak (seeds 0: runs went on until the time was spent)
 * the seeds its results reached, and the budget.
 */
function seedRange(s: Record<string, unknown>, results: readonly SummaryResult[]): string {
  const start = Number(s['seedStart']);
  const minutes = Number(s['minutes'] ?? 0);
  if (minutes > 0) {
    const last = results.reduce((m, r) => Math.max(m, r.seed), start);
    return results.length > 0 ? `seeds ${start}..${last} (${minutes} min budget)` : `no seeds run (${minutes} min budget)`;
  }
  return `seeds ${start}..${start + Number(s['seeds']) - 1}`;
}
