// `shootdown merge FILE... [--format table|markdown|json] [--out FILE]
// [--html FILE]`: one comparison from CompareReport files written by
// `compare --out` on several machines. The files must describe the same
// comparison (scenario, profile, CPUs, run length, memory, scenario
// options, metrics, variants);
// each metric's samples are pooled per variant and its statistics,
// deltas and verdicts recomputed (src/report/merge.ts).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { allDirectories, runSoakMerge } from './soak-merge.js';
import { resolve } from 'node:path';
import { decodeCompareFile, type CompareReportObject } from '../report/compare-file.js';
import { MergeMismatchError, mergeCompareReports } from '../report/merge.js';
import { ReportFileError } from '../report/report-file.js';
import { COMPARE_FORMATS } from './compare-command.js';
import { emitCompareReport } from './compare-output.js';
import { UsageError } from './errors.js';
import { logger } from './logger.js';
import { checkOutputFile } from './output-files.js';
import { parseChoice } from './parse.js';

export interface MergeOptions {
  format: string;
  out?: string;
  html?: string;
}

/** Reads one file's bytes; one line naming it (UsageError) when it cannot be read. */
function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`merge: "${path}" cannot be read (${code ?? (e as Error).message}): give files written by compare --out`);
  }
}

/** Decodes one file; one line naming it (UsageError) when it is not a whole comparison. */
function decodeCompare(path: string, bytes: Buffer): CompareReportObject {
  try {
    return decodeCompareFile(bytes);
  } catch (e) {
    if (e instanceof ReportFileError) throw new UsageError(`merge: "${path}" ${e.message}`);
    throw e;
  }
}

/** The file's real path (symlinks and .. resolved), or its absolute path when it does not exist yet (an --out). */
function realOrAbsolute(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * Refuses a file given twice (the same real path, or the same bytes under
 * another name: a copy would count its samples twice, as if another
 * machine had drawn the very same ones) and an --out that is one of the
 * inputs (writing it would replace a machine's only copy of its results).
 */
function assertDistinct(files: readonly string[], bytes: readonly Buffer[], out: string | undefined): void {
  const real = files.map(realOrAbsolute);
  const hashes = bytes.map((b) => createHash('sha256').update(b).digest('hex'));
  for (let j = 1; j < files.length; j++) {
    for (let i = 0; i < j; i++) {
      if (real[i] === real[j]) throw new UsageError(`merge: "${files[i]}" and "${files[j]}" are the same file: give each comparison once`);
      if (hashes[i] === hashes[j]) throw new UsageError(`merge: "${files[i]}" and "${files[j]}" have identical content (a copy): give each comparison once`);
    }
  }
  if (out === undefined) return;
  const k = real.indexOf(realOrAbsolute(out));
  if (k >= 0) throw new UsageError(`merge: --out "${out}" is the input "${files[k]}": write the merged report to another file`);
}

/** Validates, reads, pools and prints; throws UsageError for bad files or comparisons that do not match. */
export async function runMerge(files: readonly string[], o: MergeOptions, print: (t: string) => void): Promise<void> {
  const format = parseChoice('--format', o.format, COMPARE_FORMATS);
  if (files.length === 0) throw new UsageError('merge: give one or more files written by compare --out');
  // --- soak result directories (issue 10: soaks over many machines) ---
  if (allDirectories(files)) {
    if (format === 'markdown') throw new UsageError('merge: --format markdown is for comparisons; soak directories print as table or json');
    if (o.html !== undefined) throw new UsageError('merge: --html is for comparisons; soak directories have no HTML page (use --out FILE for the merged summary)');
    return runSoakMerge(files, { format, ...(o.out !== undefined ? { out: o.out } : {}) }, print);
  }
  const dir = files.find((f) => existsSync(f) && statSync(f).isDirectory());
  if (dir !== undefined) throw new UsageError(`merge: "${dir}" is a directory and other arguments are files: give soak result directories (soak --out) or comparison files (compare --out), not both`);
  if (o.out !== undefined) checkOutputFile('--out', o.out);
  if (o.html !== undefined) checkOutputFile('--html', o.html);
  const bytes = files.map(readBytes);
  assertDistinct(files, bytes, o.out);
  const reports = files.map((f, i) => decodeCompare(f, bytes[i]!));
  let merged: CompareReportObject;
  try {
    merged = mergeCompareReports(files, reports);
  } catch (e) {
    if (e instanceof MergeMismatchError) throw new UsageError(`merge: cannot pool: ${e.message}`);
    throw e;
  }
  logger().info({ event: 'merge', files, samples: merged['samples'] }, 'merge');
  await emitCompareReport(merged, { format, ...(o.out !== undefined ? { out: o.out } : {}), ...(o.html !== undefined ? { html: o.html } : {}) }, print);
}
