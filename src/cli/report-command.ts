// `shootdown report show FILE... [--format table|json]`: reads any file the
// tool writes: a RunReport file (`run --out`, a soak's <scenario>-seed<N>.pb)
// or a soak summary (summary*.json). A file that is empty, torn, corrupted
// or foreign is refused with one line naming it (exit 2), never shown as a
// clean run.

import { readFileSync } from 'node:fs';
import { COMPARE_FILE_MAGIC } from '../report/compare-file.js';
import { decodeReportFile, looksLikeReportFile, ReportFileError } from '../report/report-file.js';
import { toProtoJson } from '../report/schema.js';
import { UsageError } from './errors.js';
import { FORMATS } from './format.js';
import { parseChoice } from './parse.js';
import { renderReport, renderSummary } from './render-report.js';
import { SUMMARY_FORMAT } from './soak-command.js';

export interface ReportShowOptions {
  format: string;
}

type Loaded = { file: string; kind: 'run-report'; content: Record<string, unknown> } | { file: string; kind: 'soak-summary'; content: Record<string, unknown> };

/** Reads and checks one output file; throws a UsageError naming it when it is not a complete one. */
export function loadOutputFile(file: string): Loaded {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UsageError(`report show: cannot read "${file}": ${(e as Error).message}`);
  }
  // A comparison (compare --out) is read by merge, which prints its table.
  if (looksLikeReportFile(bytes, COMPARE_FILE_MAGIC)) {
    throw new UsageError(`report show: "${file}" is a comparison (compare --out): print it with shootdown merge ${file}`);
  }
  if (looksLikeReportFile(bytes) || bytes.length === 0 || !/^\s*\{/.test(bytes.subarray(0, 64).toString('utf8'))) {
    try {
      return { file, kind: 'run-report', content: decodeReportFile(bytes) };
    } catch (e) {
      if (e instanceof ReportFileError) throw new UsageError(`report show: "${file}" ${e.message}`);
      throw e;
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new UsageError(`report show: "${file}" is not complete JSON (torn or not a shootdown file): ${(e as Error).message}`);
  }
  const obj = json as Record<string, unknown>;
  if (obj === null || typeof obj !== 'object' || obj['format'] !== SUMMARY_FORMAT || !Array.isArray(obj['results'])) {
    throw new UsageError(`report show: "${file}" is JSON but not a soak summary (no "format": "${SUMMARY_FORMAT}")`);
  }
  return { file, kind: 'soak-summary', content: obj };
}

export function runReportShow(files: readonly string[], o: ReportShowOptions, print: (t: string) => void): void {
  const format = parseChoice('--format', o.format, FORMATS);
  if (files.length === 0) throw new UsageError('report show: name one or more files (a .pb report or a soak summary .json)');
  // Check every file before printing any: a script gets all or nothing.
  const loaded = files.map(loadOutputFile);
  if (format === 'json') {
    print(JSON.stringify(loaded.map((l) => ({
      file: l.file, kind: l.kind, content: l.kind === 'run-report' ? toProtoJson('RunReport', l.content) : l.content,
    })), null, 2));
    return;
  }
  print(loaded.map((l) => `== ${l.file} (${l.kind})\n${l.kind === 'run-report' ? renderReport(l.content) : renderSummary(l.content)}`).join('\n\n'));
}
