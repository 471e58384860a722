// The HTML report (`compare --html`, `run --html`, `merge --html`): one
// self-contained file that opens offline. The charting library (Apache
// ECharts, its minified browser bundle read from node_modules when the
// report is written), the report's data and the page script are all inlined;
// the page fetches nothing.
//
// Why ECharts: one dependency-free bundle with bars, stacks, scatter lanes,
// mark lines and custom series (the min/max whiskers) built in, an SVG
// renderer (a test can count the marks it drew), and an active Apache
// project. Chart.js needs a plugin for error bars and draws only to canvas;
// Vega-Lite needs three packages (vega, vega-lite, vega-embed).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type MetricSummary, TABLE_HEADER, metricTitle, tableRows } from '../compare.js';
import type { CompareReportObject } from '../compare-file.js';
import { compareSetupLine } from '../compare-setup.js';
import type { RunReportObject } from '../run-report.js';
import { type ChartOption, LANE_COLOURS, REASON_COLOURS, VIOLATION_COLOUR, exitReasonsOption, metricBarOption, timelineOption } from './charts.js';
import { renderCharts } from './client.js';
import { type TimelineEvent, type ViolationMark, timelineView } from './timeline.js';

/** The chart library's browser bundle, resolved like an import from this module. */
export const CHART_LIBRARY = 'echarts/dist/echarts.min.js';

let librarySource: string | null = null;

/** The bundle's text; `</script` is escaped so the inlined script cannot end early. */
function chartLibrarySource(): string {
  if (librarySource === null) {
    const path = createRequire(import.meta.url).resolve(CHART_LIBRARY);
    librarySource = readFileSync(path, 'utf8').replace(/<\/script/gi, '<\\/script');
  }
  return librarySource;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' })[c]!);

/** JSON inside a <script> element: `<` escaped so no "</script>" or "<!--" can appear. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 32px; } h3 { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; font-variant-numeric: tabular-nums; }
th:first-child, td:first-child { text-align: left; }
.better { color: #1a7f37; font-weight: 600; } .worse { color: #c62828; font-weight: 600; }
.chart { width: 100%; height: 280px; } .timeline { height: 460px; }
.legend span { display: inline-block; margin-right: 14px; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
.note { color: #555; } .violation { border: 2px solid ${VIOLATION_COLOUR}; padding: 8px 12px; }
`;

class Page {
  readonly parts: string[] = [];
  readonly charts: Record<string, ChartOption> = {};
  add(html: string): void { this.parts.push(html); }
  chart(id: string, option: ChartOption, cls = 'chart'): void {
    this.charts[id] = option;
    this.add(`<div class="${cls}" id="${esc(id)}" data-chart="${esc(id)}"></div>`);
  }
  legend(items: readonly [string, string][]): void {
    this.add(`<div class="legend">${items.map(([name, colour]) => `<span><i style="background:${colour}"></i>${esc(name)}</span>`).join('')}</div>`);
  }
  render(title: string, data: unknown): string {
    return [
      '<!doctype html>', '<html lang="en"><head><meta charset="utf-8">',
      `<title>${esc(title)}</title>`, `<style>${STYLE}</style>`, '</head><body>',
      ...this.parts,
      `<script type="application/json" id="shootdown-report">${scriptJson(data)}</script>`,
      `<script>${chartLibrarySource()}</script>`,
      `<script>(${renderCharts.toString()})(echarts, document, ${scriptJson(this.charts)});</script>`,
      '</body></html>', '',
    ].join('\n');
  }
}

/** One metric's table: the terminal's text in each cell, the exact number in data-value. */
function metricTable(m: MetricSummary): string {
  const rows = tableRows(m);
  const body = m.variants.map((v, i) => {
    const text = rows[i]!;
    const exact = [v.variant, v.samples, v.mean, v.stddev, v.min, v.max, v.deltaPct];
    const cells = text.map((t, k) => {
      const cls = k === 6 && (v.verdict === 'better' || v.verdict === 'worse') ? ` class="${v.verdict}"` : '';
      return k === 0 ? `<td>${esc(t)}</td>` : `<td${cls} data-value="${exact[k]}">${esc(t)}</td>`;
    });
    return `<tr data-variant="${esc(v.variant)}" data-verdict="${v.verdict}">${cells.join('')}</tr>`;
  });
  return `<table class="metric" data-metric="${esc(m.name)}"><thead><tr>${TABLE_HEADER.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

const reasonName = (metric: string): string => metric.replace(/^asiExits/, '').replace(/PerOp$/, '');

function exitReasonsSection(page: Page, columns: readonly string[], reasons: readonly { name: string; values: readonly number[] }[], unit: string, what: string): void {
  page.add(`<h2>ASI exits by reason</h2><p class="note">${esc(what)}</p>`);
  if (!reasons.some((r) => r.values.some((v) => v > 0))) {
    page.add('<p class="note" data-empty-chart="exits">No ASI exit in any column (ASI off, or no exit counted): nothing to stack.</p>');
    return;
  }
  page.legend(reasons.map((r, i) => [r.name, REASON_COLOURS[i % REASON_COLOURS.length]!]));
  page.chart('chart-exits', exitReasonsOption(columns, reasons, unit));
}

function timelineSection(page: Page, id: string, heading: string, events: readonly TimelineEvent[], violation: ViolationMark | null): void {
  const view = timelineView(events, violation);
  page.add(`<h3>${esc(heading)}</h3><p class="note">Window: ${esc(view.window)}. x is each CPU's own op number (the CPUs run at about the same rate; it is not a shared clock).</p>`);
  if (view.points.length === 0) {
    page.add('<p class="note">The trace rings held no event.</p>');
    return;
  }
  const legend: [string, string][] = view.lanesUsed.filter((l) => l !== 'violation').map((l) => [l, LANE_COLOURS[l]]);
  if (view.marked !== null) legend.push(['violating access', VIOLATION_COLOUR]);
  page.legend(legend);
  if (view.lanesEmpty.length > 0) page.add(`<p class="note">No event in the window for: ${esc(view.lanesEmpty.join(', '))}.</p>`);
  page.chart(id, timelineOption(view), 'chart timeline');
}

/** The HTML page of a CompareReport (compare --html, merge --html). */
export function comparePage(report: CompareReportObject): string {
  const page = new Page();
  const metrics = (report['metrics'] ?? []) as MetricSummary[];
  const variants = metrics[0]?.variants.map((v) => v.variant) ?? [];
  const title = `shootdown compare ${String(report['scenario'])}`;
  page.add(`<h1>${esc(title)}</h1>`);
  page.add(`<p class="setup">${esc(compareSetupLine(report))}</p>`);
  page.add(`<p>${esc(`${variants.join(' vs ')}, shootdown ${String(report['toolVersion'])}. The first variant is the base; each delta says whether it is better or worse by the metric's direction.`)}</p>`);
  page.add('<h2>Comparison</h2>');
  metrics.forEach((m, i) => {
    page.add(`<h3>${esc(metricTitle(m))}</h3>`);
    page.add(metricTable(m));
    // An all-zero metric has no bar to draw: said, not drawn as an empty frame.
    if (m.variants.every((v) => v.mean === 0 && v.min === 0 && v.max === 0)) page.add(`<p class="note" data-empty-chart="${esc(m.name)}">0 in every sample of every variant: no bars to draw.</p>`);
    else page.chart(`chart-metric-${i}`, metricBarOption(m));
  });
  const reasons = ((report['asiExitReasons'] ?? []) as MetricSummary[]).map((m) => ({ name: reasonName(m.name), values: m.variants.map((v) => v.mean) }));
  if (reasons.length > 0) exitReasonsSection(page, variants, reasons, 'exits/op', 'Mean asi_exit calls per op of each variant, by reason (counters asiExits<Reason>).');
  const timelines = (report['timelines'] ?? []) as { variant: string; seed: number; timeline?: { events?: TimelineEvent[] } }[];
  if (timelines.length > 0) {
    page.add('<h2>Per-CPU timeline</h2><p class="note">One sample of each variant: IPIs, flushes, ASI exits and context switches from the per-CPU trace rings at the end of the run.</p>');
    timelines.forEach((t, i) => timelineSection(page, `chart-timeline-${i}`, `${t.variant} (seed ${t.seed})`, t.timeline?.events ?? [], null));
  }
  return page.render(title, report);
}

const RUN_FIGURES: readonly [string, string][] = [
  ['scenario', 'scenario'], ['variant', 'variant'], ['cpus', 'CPUs'], ['seed', 'seed'], ['engine', 'engine'], ['profile', 'profile'],
  ['stoppedBy', 'stopped by'], ['durationMs', 'wall ms'], ['opsPerSec', 'ops/s (wall)'], ['simElapsedMs', 'simulated ms'], ['opsPerSimSecond', 'ops per simulated second'],
];

/** The HTML page of a RunReport (run --html). */
export function runPage(report: RunReportObject): string {
  const page = new Page();
  const title = `shootdown run ${String(report['scenario'])}`;
  page.add(`<h1>${esc(title)}</h1>`);
  const shown = (v: unknown): string => (typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 3 }) : String(v ?? ''));
  page.add(`<table class="figures">${RUN_FIGURES.map(([k, label]) => `<tr><th>${esc(label)}</th><td data-key="${k}" data-value="${esc(String(report[k] ?? ''))}">${esc(shown(report[k]))}</td></tr>`).join('')}</table>`);
  const totals = (report['totals'] ?? {}) as Record<string, number>;
  const nonzero = Object.entries(totals).filter(([, v]) => v !== 0);
  page.add('<h2>Counters</h2>');
  page.add(`<table class="counters"><thead><tr><th>counter</th><th>total</th></tr></thead><tbody>${nonzero.map(([k, v]) => `<tr><td>${esc(k)}</td><td data-value="${v}">${v.toLocaleString('en-US')}</td></tr>`).join('')}</tbody></table>`);
  const perCpu = (report['perCpu'] ?? []) as { cpu: number; counters: Record<string, number> }[];
  const reasonKeys = Object.keys(totals).filter((k) => /^asiExits[A-Z]/.test(k));
  exitReasonsSection(page, perCpu.map((c) => `cpu ${c.cpu}`),
    reasonKeys.map((k) => ({ name: k.replace(/^asiExits/, ''), values: perCpu.map((c) => c.counters[k] ?? 0) })), 'exits', 'asi_exit calls of each CPU, by reason.');
  const records = (report['violationRecords'] ?? []) as (ViolationMark & { task: number; lastEvents?: TimelineEvent[] })[];
  const first = records[0] ?? null;
  if (first !== null) {
    page.add(`<h2>Violation</h2><div class="violation" id="violation" data-cpu="${first.cpu}" data-va="${first.va}">${esc(`${records.length} violation record(s); the first: ${first.kind} on cpu ${first.cpu}, task ${first.task}, va 0x${first.va.toString(16)}, pfn ${first.pfn}. Rerun: ${String(report['rerun'] ?? '')}`)}</div>`);
  }
  const atEnd = (report['timeline'] as { events?: TimelineEvent[] } | undefined)?.events ?? [];
  // Around a violation, two sources: the rings at the end of the run (events
  // either side, if the ring still holds the access) and the oracle's
  // snapshot taken when it happened (each CPU's last few events before it,
  // never overwritten). The first is used when it reaches the access.
  const snapshot = first?.lastEvents ?? [];
  const useSnapshot = first !== null && snapshot.length > 0 && (atEnd.length === 0 || timelineView(atEnd, first).marked === null);
  const events = useSnapshot ? snapshot : atEnd;
  page.add('<h2>Per-CPU timeline</h2>');
  if (events.length > 0) {
    if (useSnapshot) page.add('<p class="note">From the oracle\'s snapshot of every CPU\'s trace ring taken when the violation happened (the rings at the end of the run no longer hold it).</p>');
    timelineSection(page, 'chart-timeline-0', first !== null ? 'Around the first violation' : 'End of the run', events, first);
  } else {
    page.add('<p class="note">This report holds no timeline (it is recorded when the run is given --html).</p>');
  }
  return page.render(title, report);
}
