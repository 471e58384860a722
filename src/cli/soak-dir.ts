// A soak's --out directory: one report file per (scenario, seed) run and one
// summary per shard, so several shards can share a directory without
// overwriting each other. A directory that already holds this shard's
// results is refused (a second soak would silently mix old and new runs)
// unless --resume (keep the finished runs, run the rest) or --force (start
// over: this shard's old files are removed first).

import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { decodeReportFile, ReportFileError } from '../report/report-file.js';
import type { RunReportObject } from '../report/run-report.js';
import { decodeTraceFile, TraceFileError } from '../trace/file.js';
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
  /**
   * --resume: trace files removed because they were not a finished run's
   * complete trace (the interrupted or killed run's, a torn one, a writer's
   * leftover temporary file), by file name, each with why.
   */
  readonly removedTraces: readonly string[];
}

/** `<scenario>-seed<N>.pb` */
export function jobFileName(job: SoakJob): string {
  return `${job.scenario}-seed${job.seed}.pb`;
}

/** `<scenario>-seed<N>.trc`: the run's trace file (soak --trace), beside its report. */
export function traceFileName(job: SoakJob): string {
  return `${job.scenario}-seed${job.seed}.trc`;
}

/**
 * The temporary files an atomic writer (output-files.ts writeOutputFile,
 * trace/writer.ts) leaves behind when the process is killed between
 * creating and renaming: `.<name>.<pid>.<hex>.tmp`.
 */
function leftoverOf(name: string): string | null {
  const m = /^\.(.+)\.\d+\.[0-9a-f]+\.tmp$/.exec(name);
  return m ? m[1]! : null;
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
  const listing = readdirSync(dir);
  const mine = new Set([summaryFileName(shard), ...jobs.flatMap((j) => [jobFileName(j), traceFileName(j)])]);
  const present = listing.filter((f) => mine.has(f));
  // Temporary files of a killed writer: never results, removed by --resume and --force alike.
  const leftovers = listing.filter((f) => { const of = leftoverOf(f); return of !== null && mine.has(of); });
  const done = new Map<string, RunReportObject>();
  const removedTraces: string[] = [];
  // Nothing of ours there: a fresh start, whatever the mode (a CI job can always pass --resume).
  if (present.length === 0) {
    if (mode.resume || mode.force) for (const f of leftovers) unlinkSync(join(dir, f));
    return { dir, done, removedTraces };
  }
  if (mode.force) {
    for (const f of [...present, ...leftovers]) unlinkSync(join(dir, f));
    return { dir, done, removedTraces };
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
  // Traces (soak --trace): a finished run keeps its trace. Any other trace
  // belongs to a run that will run again (interrupted, killed before its
  // report, torn report): it is removed now, before that run starts, so
  // that a second interruption cannot leave the old trace beside the new
  // run's files looking like its trace. A finished run's trace that does
  // not read as a whole trace is removed too (the run is kept: its report
  // is the result).
  for (const job of jobs) {
    const trc = traceFileName(job);
    if (!present.includes(trc)) continue;
    if (!done.has(jobFileName(job))) {
      unlinkSync(join(dir, trc));
      removedTraces.push(`${trc} (its run did not finish: it runs again)`);
      continue;
    }
    try {
      decodeTraceFile(readFileSync(join(dir, trc)));
    } catch (e) {
      if (!(e instanceof TraceFileError)) throw e;
      unlinkSync(join(dir, trc));
      removedTraces.push(`${trc} (${e.message})`);
    }
  }
  for (const f of leftovers) {
    unlinkSync(join(dir, f));
    if (f.endsWith('.trc.tmp') || /\.trc\.\d+\.[0-9a-f]+\.tmp$/.test(f)) removedTraces.push(`${f} (a trace a killed run never finished)`);
  }
  return { dir, done, removedTraces };
}

function differences(r: RunReportObject, id: SoakIdentity): string | null {
  if (r['cpus'] !== id.cpus) return `--cpus ${String(r['cpus'])}, not ${id.cpus}`;
  if (r['variant'] !== id.variant) return `--variant ${String(r['variant'])}, not ${id.variant}`;
  const inj = (r['inject'] as string[]).join(',');
  if (inj !== id.inject.join(',')) return `--inject "${inj}", not "${id.inject.join(',')}"`;
  if (r['seconds'] !== id.seconds) return `--seconds ${String(r['seconds'])}, not ${id.seconds}`;
  return null;
}
