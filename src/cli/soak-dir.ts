// A soak's --out directory: one report file per (scenario, seed) run and one
// summary per shard, so several shards can share a directory without
// overwriting each other. A directory that already holds this shard's
// results is refused (a second soak would silently mix old and new runs)
// unless --resume (keep the finished runs, run the rest) or --force (start
// over: this shard's old files are removed first).

import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { decodeReportFile, ReportFileError } from '../report/report-file.js';
import type { RunReportObject } from '../report/run-report.js';
import { UsageError } from './errors.js';
import { prepareOutputDir } from './output-files.js';

export interface SoakJob {
  readonly scenario: string;
  readonly seed: number;
}

/** What a run must have been made with to be kept by --resume. */
export interface SoakIdentity {
  readonly cpus: number;
  readonly variant: string;
  readonly inject: readonly string[];
  readonly seconds: number;
}

export interface SoakDir {
  readonly dir: string;
  /** --resume: finished runs' reports, by file name. */
  readonly done: ReadonlyMap<string, RunReportObject>;
}

/** `<scenario>-seed<N>.pb` */
export function jobFileName(job: SoakJob): string {
  return `${job.scenario}-seed${job.seed}.pb`;
}

/** `summary.json` for an unsharded soak, `summary-shard<i>of<n>.json` for shard i of n. */
export function summaryFileName(shard: { index: number; count: number }): string {
  return shard.count === 1 ? 'summary.json' : `summary-shard${shard.index}of${shard.count}.json`;
}

/**
 * Makes (or checks) the directory and applies the used-directory rule.
 * Throws a UsageError naming the directory and the two ways on.
 */
export function prepareSoakDir(
  dir: string, jobs: readonly SoakJob[], shard: { index: number; count: number },
  mode: { resume: boolean; force: boolean }, identity?: SoakIdentity,
): SoakDir {
  if (mode.resume && mode.force) throw new UsageError('--resume and --force contradict each other: --resume keeps finished runs, --force discards them');
  prepareOutputDir('--out', dir);
  const ours = [summaryFileName(shard), ...jobs.map(jobFileName)];
  const present = ours.filter((f) => existsSync(join(dir, f)));
  const done = new Map<string, RunReportObject>();
  // Nothing of ours there: a fresh start, whatever the mode (a CI job can always pass --resume).
  if (present.length === 0) return { dir, done };
  if (mode.force) {
    for (const f of present) unlinkSync(join(dir, f));
    return { dir, done };
  }
  if (!mode.resume) {
    throw new UsageError(`--out "${dir}" already holds results of this soak (${present.length} file(s), e.g. ${present[0]}): add --resume to keep them and run the rest, or --force to start over`);
  }
  for (const job of jobs) {
    const name = jobFileName(job);
    if (!present.includes(name)) continue;
    let report: RunReportObject;
    try {
      report = decodeReportFile(readFileSync(join(dir, name)));
    } catch (e) {
      if (e instanceof ReportFileError) continue; // torn or empty: run it again
      throw e;
    }
    if (report['interrupted'] === true) continue; // a partial run is not a result
    if (identity) {
      const mismatch = differences(report, identity);
      if (mismatch !== null) throw new UsageError(`--resume: "${join(dir, name)}" was made with ${mismatch}: use the same flags, or --force to start over`);
    }
    done.set(name, report);
  }
  return { dir, done };
}

function differences(r: RunReportObject, id: SoakIdentity): string | null {
  if (r['cpus'] !== id.cpus) return `--cpus ${String(r['cpus'])}, not ${id.cpus}`;
  if (r['variant'] !== id.variant) return `--variant ${String(r['variant'])}, not ${id.variant}`;
  const inj = (r['inject'] as string[]).join(',');
  if (inj !== id.inject.join(',')) return `--inject "${inj}", not "${id.inject.join(',')}"`;
  if (r['seconds'] !== id.seconds) return `--seconds ${String(r['seconds'])}, not ${id.seconds}`;
  return null;
}
