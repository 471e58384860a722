// Printing and writing a CompareReport, shared by `compare` and `merge`:
// the terminal table, Markdown or JSON on stdout first, then the files
// (--out framed protobuf, --html page), so a failing disk never costs the
// user the numbers.

import { type MetricSummary, metricTitle, renderMarkdown, TABLE_HEADER, tableRows } from '../report/compare.js';
import { type CompareReportObject, encodeCompareFile } from '../report/compare-file.js';
import { compareSetupLine } from '../report/compare-setup.js';
import { comparePage } from '../report/html/page.js';
import { toProtoJson } from '../report/schema.js';
import { renderTable } from './format.js';
import { logger } from './logger.js';
import { writeOutputFile } from './output-files.js';

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
 * Prints the report in `format`, then writes --out and --html. With a table
 * or Markdown, the last line says where the HTML page went (JSON output
 * stays one JSON document).
 */
export async function emitCompareReport(report: CompareReportObject, o: CompareOutputs, print: (t: string) => void): Promise<void> {
  const metrics = report['metrics'] as MetricSummary[];
  if (o.format === 'json') print(JSON.stringify(toProtoJson('CompareReport', withoutTimelines(report)), null, 2));
  else if (o.format === 'markdown') print(renderMarkdown(metrics));
  else print([compareHeadline(report), ...metrics.map((m) => `\n${metricTitle(m)}\n${renderTable(TABLE_HEADER, tableRows(m))}`)].join('\n'));
  if (o.out !== undefined) {
    await writeOutputFile(o.out, encodeCompareFile(report));
    logger().info({ event: 'file written', path: o.out, kind: 'compare report' }, 'file written');
  }
  if (o.html !== undefined) {
    await writeOutputFile(o.html, comparePage(report));
    logger().info({ event: 'file written', path: o.html, kind: 'html' }, 'file written');
    if (o.format !== 'json') print(`\nHTML report: ${o.html}`);
  }
}

/** JSON on stdout is the comparison; the timelines (trace snapshots for the page) go only into files. */
function withoutTimelines(r: CompareReportObject): CompareReportObject {
  return { ...r, timelines: [] };
}
