// `shootdown merge FILE... [--format table|markdown|json] [--out FILE]
// [--html FILE]`: one comparison from CompareReport files written by
// `compare --out` on several machines. The files must describe the same
// comparison (scenario, profile, CPUs, run length, memory, scenario
// options, metrics, variants);
// each metric's samples are pooled per variant and its statistics,
// deltas and verdicts recomputed (src/report/merge.ts).

import { readFileSync } from 'node:fs';
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

/** Reads one file; one line naming it (UsageError) when it cannot be read or is not a whole comparison. */
function readCompareFile(path: string): CompareReportObject {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`merge: "${path}" cannot be read (${code ?? (e as Error).message}): give files written by compare --out`);
  }
  try {
    return decodeCompareFile(bytes);
  } catch (e) {
    if (e instanceof ReportFileError) throw new UsageError(`merge: "${path}" ${e.message}`);
    throw e;
  }
}

/** Validates, reads, pools and prints; throws UsageError for bad files or comparisons that do not match. */
export async function runMerge(files: readonly string[], o: MergeOptions, print: (t: string) => void): Promise<void> {
  const format = parseChoice('--format', o.format, COMPARE_FORMATS);
  if (files.length === 0) throw new UsageError('merge: give one or more files written by compare --out');
  if (o.out !== undefined) checkOutputFile('--out', o.out);
  if (o.html !== undefined) checkOutputFile('--html', o.html);
  const reports = files.map(readCompareFile);
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
