// `shootdown merge DIR...` (issue 10, "beyond one machine"): one soak
// summary from the result directories of a soak spread over machines
// (`soak --shard i/n --out DIR` on each: a Kubernetes Indexed Job's pods, a
// CI matrix's jobs). Each directory holds one or more shard summaries
// (`summary-shard<i>of<n>.json`) and the runs' report files.
//
// A merged summary must not look better than the shards it came from, so
// merge checks what a batch scheduler gets wrong: shards of different soaks
// (other flags or tool version), the same shard twice (a retried pod whose
// first attempt also uploaded), two shards claiming the same run (a wrong
// --shard), shards that never reported, and runs the summary lists whose
// report file is missing or torn (a lost volume, a cut upload). A missing
// shard or report makes the merge incomplete (exit 1), a failed run too;
// inconsistent inputs are refused (exit 2) before anything is printed.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeReportFile, ReportFileError } from '../report/report-file.js';
import { CheckFailedError, UsageError } from './errors.js';
import { checkOutputFile, writeOutputFile } from './output-files.js';
import { renderSummary } from './render-report.js';
import { loadOutputFile } from './report-command.js';
import { SUMMARY_FORMAT } from './soak-command.js';
import { jobFileName } from './soak-dir.js';

/** Summary files a soak writes (soak-dir.ts summaryFileName). */
const SUMMARY_FILE = /^summary(?:-shard(\d+)of(\d+))?\.json$/;

/** Fields every shard of one soak shares (the summary's provenance less the shard and how it ended). */
const SAME_SOAK_FIELDS = [
  'toolVersion', 'scenarios', 'seeds', 'seedStart', 'secondsPerRun', 'cpus', 'mem', 'variant', 'inject', 'options', 'watchdogMs', 'minutes', 'keepGoing',
] as const;

/** Tag of a merged summary (a soak summary too: report show and merge read it). */
export const MERGED_FROM = 'merge';

interface ShardSummary {
  readonly dir: string;
  readonly file: string;
  readonly index: number;
  readonly count: number;
  readonly s: Record<string, unknown>;
}

interface Result { scenario: string; seed: number; passed: boolean; fault?: string }

export interface SoakMergeOptions {
  format: 'table' | 'json';
  out?: string;
}

/** Are all the arguments directories? (merge reads comparisons otherwise.) */
export function allDirectories(paths: readonly string[]): boolean {
  return paths.length > 0 && paths.every((p) => existsSync(p) && statSync(p).isDirectory());
}

function shardsIn(dir: string): ShardSummary[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new UsageError(`merge: cannot read directory "${dir}": ${(e as Error).message}`);
  }
  const out: ShardSummary[] = [];
  for (const name of names.sort()) {
    const m = SUMMARY_FILE.exec(name);
    if (!m) continue;
    const file = join(dir, name);
    const loaded = loadOutputFile(file);
    if (loaded.kind !== 'soak-summary') throw new UsageError(`merge: "${file}" is not a soak summary`);
    const s = loaded.content;
    if (s['mergedFrom'] !== undefined) throw new UsageError(`merge: "${file}" is itself a merged summary: give the shard directories`);
    const shard = /^(\d+)\/(\d+)$/.exec(String(s['shard'] ?? ''));
    if (!shard) throw new UsageError(`merge: "${file}" has no shard i/n (field "shard": ${JSON.stringify(s['shard'])})`);
    out.push({ dir, file, index: Number(shard[1]), count: Number(shard[2]), s });
  }
  if (out.length === 0) throw new UsageError(`merge: "${dir}" holds no soak summary (summary.json or summary-shard<i>of<n>.json): give directories written by soak --out`);
  return out;
}

/** The first field in which two shards' soaks differ, or null. */
function differingField(a: Record<string, unknown>, b: Record<string, unknown>): string | null {
  for (const f of SAME_SOAK_FIELDS) if (JSON.stringify(a[f]) !== JSON.stringify(b[f])) return f;
  return null;
}

/** A listed run's report file: null when present and whole, else what is wrong with it. */
function reportProblem(dir: string, r: Result): string | null {
  const file = join(dir, jobFileName(r));
  if (!existsSync(file)) return `${file}: missing`;
  try {
    decodeReportFile(readFileSync(file));
  } catch (e) {
    if (e instanceof ReportFileError) return `${file}: ${e.message}`;
    throw e;
  }
  return null;
}

/**
 * Reads and checks the shard summaries under `dirs`, prints the merged
 * summary, writes it to --out, and throws CheckFailedError when a run
 * failed or anything is missing; UsageError for inputs that do not belong
 * together.
 */
export async function runSoakMerge(dirs: readonly string[], o: SoakMergeOptions, print: (t: string) => void): Promise<void> {
  if (o.out !== undefined) checkOutputFile('--out', o.out);
  const shards = dirs.flatMap(shardsIn);
  const first = shards[0]!;
  for (const sh of shards.slice(1)) {
    const f = differingField(first.s, sh.s);
    if (f !== null) throw new UsageError(`merge: "${first.file}" and "${sh.file}" are not shards of one soak: ${f} ${JSON.stringify(first.s[f])} vs ${JSON.stringify(sh.s[f])}`);
    if (sh.count !== first.count) throw new UsageError(`merge: "${first.file}" is a shard of ${first.count}, "${sh.file}" of ${sh.count}: give the shards of one --shard i/n split`);
  }
  const byIndex = new Map<number, ShardSummary>();
  for (const sh of shards) {
    const seen = byIndex.get(sh.index);
    if (seen) throw new UsageError(`merge: shard ${sh.index}/${sh.count} is given twice ("${seen.file}" and "${sh.file}"): give each shard once`);
    byIndex.set(sh.index, sh);
  }
  // Two shards claiming one run means a wrong --shard somewhere: its results would count twice.
  const owner = new Map<string, string>();
  for (const sh of shards) {
    for (const r of sh.s['results'] as Result[]) {
      const key = jobFileName(r);
      const other = owner.get(key);
      if (other) throw new UsageError(`merge: ${r.scenario} seed ${r.seed} is in both "${other}" and "${sh.file}": shards must not overlap`);
      owner.set(key, sh.file);
    }
  }
  const missingShards: string[] = [];
  for (let i = 1; i <= first.count; i++) if (!byIndex.has(i)) missingShards.push(`${i}/${first.count}`);
  const missingReports: string[] = [];
  for (const sh of shards) {
    for (const r of sh.s['results'] as Result[]) {
      const p = reportProblem(sh.dir, r);
      if (p !== null) missingReports.push(p);
    }
  }
  const ordered = [...byIndex.values()].sort((a, b) => a.index - b.index);
  const scenarios = first.s['scenarios'] as string[];
  const results = ordered.flatMap((sh) => sh.s['results'] as Result[])
    .sort((a, b) => scenarios.indexOf(a.scenario) - scenarios.indexOf(b.scenario) || a.seed - b.seed);
  const incompleteShards = ordered.filter((sh) => sh.s['complete'] !== true).map((sh) => `${sh.index}/${sh.count}`);
  const sum = (k: string): number => ordered.reduce((t, sh) => t + (Number(sh.s[k]) || 0), 0);
  const merged: Record<string, unknown> = {
    format: SUMMARY_FORMAT,
    ...Object.fromEntries(SAME_SOAK_FIELDS.map((f) => [f, first.s[f]])),
    memBytes: first.s['memBytes'],
    shard: `merged ${ordered.length} of ${first.count}`,
    mergedFrom: ordered.map((sh) => ({ shard: `${sh.index}/${sh.count}`, file: sh.file, complete: sh.s['complete'] === true, runs: sh.s['runs'], passed: sh.s['passed'] })),
    missingShards, incompleteShards, missingReports,
    complete: missingShards.length === 0 && incompleteShards.length === 0 && missingReports.length === 0,
    interrupted: ordered.some((sh) => sh.s['interrupted'] === true), interruptSignal: '',
    // A missing shard's runs are still owed: a fixed soak's job count is known (scenarios x seeds), a --minutes soak's is not.
    jobs: Number(first.s['minutes']) > 0 ? sum('jobs') : scenarios.length * Number(first.s['seeds']), runs: results.length, passed: results.filter((r) => r.passed).length,
    faults: results.filter((r) => (r.fault ?? '') !== '').length, elapsedSeconds: sum('elapsedSeconds'), results,
  };
  if (o.format === 'json') {
    print(JSON.stringify(merged, null, 2));
  } else {
    const lines = [renderSummary(merged)];
    for (const sh of ordered) lines.push(`shard ${sh.index}/${sh.count}: ${String(sh.s['runs'])} run(s), ${String(sh.s['passed'])} passed${sh.s['complete'] === true ? '' : ', INCOMPLETE'} (${sh.file})`);
    if (missingShards.length > 0) lines.push(`missing shards: ${missingShards.join(', ')} (no summary in the directories given)`);
    for (const p of missingReports) lines.push(`missing or torn report: ${p}`);
    print(lines.join('\n'));
  }
  if (o.out !== undefined) {
    // Atomic like every output file; an OutputWriteError (exit 4) comes after the printed results.
    await writeOutputFile(o.out, `${JSON.stringify(merged, null, 2)}\n`);
  }
  const failed = results.length - (merged['passed'] as number);
  const detecting = (first.s['inject'] as string[]).length > 0;
  const problems = [
    ...(failed > 0 ? [detecting ? `the bug was not caught in ${failed} of ${results.length} runs` : `${failed} of ${results.length} runs failed their checks`] : []),
    ...(missingShards.length > 0 ? [`${missingShards.length} of ${first.count} shards missing`] : []),
    ...(incompleteShards.length > 0 ? [`shard(s) ${incompleteShards.join(', ')} did not complete`] : []),
    ...(missingReports.length > 0 ? [`${missingReports.length} report file(s) missing or torn`] : []),
  ];
  if (problems.length > 0) throw new CheckFailedError(`merge: ${problems.join('; ')}`);
}
