// Printing and writing a CompareReport, shared by `compare` and `merge`:
// the terminal table, Markdown or JSON on stdout first, then the files
// (--out framed protobuf, --html page), so a failing disk never costs the
// user the numbers.

import { resolve } from 'node:path';
import { type MetricSummary, isAllZeroAsiMetric, metricTitle, renderMarkdown, TABLE_HEADER, tableRows } from '../report/compare.js';
import { type CompareReportObject, encodeCompareFile } from '../report/compare-file.js';
import { compareSetupLine } from '../report/compare-setup.js';
import { comparePage } from '../report/html/page.js';
import { toProtoJson } from '../report/schema.js';
import { renderTable } from './format.js';
import { logger } from './logger.js';
import { writeOutputFile } from './output-files.js';

/**
 * Says on stderr where an HTML page went, as an absolute path: stdout stays
 * the report alone in every format (JSON included), and `npm start` runs
 * from the package root, so a relative path would mislead a user whose
 * shell is in a subdirectory.
 */
export function announceHtml(path: string): void {
  process.stderr.write(`HTML report: ${resolve(path)}\n`);
}

export interface CompareOutputs {
  format: 'table' | 'markdown' | 'json';
  out?: string;
  html?: string;
}

/** The first line of the terminal table and the Markdown: what was compared (compareSetupLine). */
export function compareHeadline(r: CompareReportObject): string {
  return compareSetupLine(r);
}

/**
 * Prints the report in `format`, then writes --out and --html; where the
 * HTML page went is said on stderr (announceHtml) in every format.
 */
export async function emitCompareReport(report: CompareReportObject, o: CompareOutputs, print: (t: string) => void): Promise<void> {
  const all = report['metrics'] as MetricSummary[];
  // ASI-exit tables that are 0 for every variant (no ASI on either side)
  // say nothing: one line names them instead; JSON and --out keep them.
  const zero = all.filter(isAllZeroAsiMetric);
  const metrics = all.filter((m) => !zero.includes(m));
  const zeroNote = zero.length ? `\n\n${zero.map((m) => m.name).join(', ')}: 0 for every variant (tables left out; --format json has them)` : '';
  if (o.format === 'json') print(JSON.stringify(toProtoJson('CompareReport', withoutTimelines(report)), null, 2));
  // Markdown opens with the set-up line too: a table pasted into a mail
  // without its CPUs, run length and options cannot be reproduced.
  else if (o.format === 'markdown') print(`${compareHeadline(report)}\n\n${renderMarkdown(metrics)}${zeroNote}`);
  else print([compareHeadline(report), ...metrics.map((m) => `\n${metricTitle(m)}\n${renderTable(TABLE_HEADER, tableRows(m))}`)].join('\n') + zeroNote);
  if (o.out !== undefined) {
    await writeOutputFile(o.out, encodeCompareFile(report));
    logger().info({ event: 'file written', path: o.out, kind: 'compare report' }, 'file written');
  }
  if (o.html !== undefined) {
    await writeOutputFile(o.html, comparePage(report));
    logger().info({ event: 'file written', path: o.html, kind: 'html' }, 'file written');
    announceHtml(o.html);
  }
}

/** JSON on stdout is the comparison; the timelines (trace snapshots for the page) go only into files. */
function withoutTimelines(r: CompareReportObject): CompareReportObject {
  return { ...r, timelines: [] };
}
