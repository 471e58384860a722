// ECharts options for the HTML report, built here as plain JSON so the page
// script only hands them to echarts.init (src/report/html/client.ts). The
// one thing JSON cannot carry, the min/max whisker drawing of a custom
// series, is named by a string ('whiskers') that the page script swaps for
// its function. Every chart renders to SVG, so a test can count its marks.
// Legends are drawn as HTML beside the chart (page.ts), which keeps the SVG
// to axes and marks.

import type { MetricSummary } from '../compare.js';
import { LANES, type Lane, type TimelineView } from './timeline.js';

/** An ECharts option object (JSON only). */
export type ChartOption = Record<string, unknown>;

/** Bar colours by variant position (Okabe-Ito: readable by colour-blind readers). */
export const VARIANT_COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'] as const;
export const LANE_COLOURS: Readonly<Record<Lane, string>> = {
  'IPIs': '#0072B2', 'flushes': '#E69F00', 'asi exits': '#D55E00', 'context switches': '#009E73', 'CR3 writes': '#CC79A7', 'other': '#999999', 'violation': '#d62728',
};
export const VIOLATION_COLOUR = '#d62728';
export const REASON_COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00'] as const;

const colourOf = (i: number): string => VARIANT_COLOURS[i % VARIANT_COLOURS.length]!;

const AXIS_FONT = { fontSize: 11 };

/** A bar per variant (its mean) with a whisker from min to max. */
export function metricBarOption(m: MetricSummary): ChartOption {
  const names = m.variants.map((v) => v.variant);
  return {
    animation: false,
    grid: { left: 70, right: 20, top: 20, bottom: 40 },
    tooltip: { trigger: 'item', formatter: '{b}' },
    xAxis: { type: 'category', data: names, axisLabel: AXIS_FONT },
    yAxis: { type: 'value', name: m.unit, nameTextStyle: AXIS_FONT, axisLabel: AXIS_FONT, scale: false },
    series: [
      {
        type: 'bar', name: 'mean', barMaxWidth: 60,
        data: m.variants.map((v, i) => ({
          value: v.mean, name: `${v.variant}: mean ${v.mean} (min ${v.min}, max ${v.max}, ${v.samples} samples)`,
          itemStyle: { color: colourOf(i) },
        })),
      },
      {
        type: 'custom', name: 'min..max', renderItem: 'whiskers', z: 10,
        encode: { x: 0, y: [1, 2] },
        data: m.variants.map((v, i) => [i, v.min, v.max]),
      },
    ],
  };
}

/** ASI exits per op by reason, stacked, one bar per variant (or per CPU on a run page). */
export function exitReasonsOption(columns: readonly string[], reasons: readonly { name: string; values: readonly number[] }[], unit: string): ChartOption {
  return {
    animation: false,
    grid: { left: 70, right: 20, top: 20, bottom: 40 },
    tooltip: { trigger: 'item', formatter: '{a}: {c}' },
    xAxis: { type: 'category', data: [...columns], axisLabel: AXIS_FONT },
    yAxis: { type: 'value', name: unit, nameTextStyle: AXIS_FONT, axisLabel: AXIS_FONT },
    series: reasons.map((r, i) => ({
      type: 'bar', name: r.name, stack: 'exits', barMaxWidth: 60, data: [...r.values],
      itemStyle: { color: REASON_COLOURS[i % REASON_COLOURS.length] },
    })),
  };
}

/** The lane row label of one CPU and lane. */
export const laneRow = (cpu: number, lane: Lane): string => `cpu ${cpu} · ${lane}`;

/**
 * Per-CPU lanes (only the lanes with events), one scatter series per lane
 * kind; the violating access as a large red pin with a vertical line
 * through it at its op.
 */
export function timelineOption(view: TimelineView): ChartOption {
  const rows: string[] = [];
  // A row per CPU and lane that has a point: a CPU with no IPI in the window gets no IPI row.
  const has = new Set(view.points.map((p) => laneRow(p.cpu, p.lane)));
  for (const cpu of view.cpus) for (const lane of view.lanesUsed) if (has.has(laneRow(cpu, lane))) rows.push(laneRow(cpu, lane));
  const rowOf = (cpu: number, lane: Lane): number => rows.indexOf(laneRow(cpu, lane));
  const xs = view.points.map((p) => p.x);
  const series: ChartOption[] = LANES.filter((l) => view.lanesUsed.includes(l) && l !== 'violation').map((lane) => ({
    type: 'scatter', name: lane, symbolSize: 9, itemStyle: { color: LANE_COLOURS[lane] },
    data: view.points.filter((p) => p.lane === lane && !p.violation).map((p) => ({ name: p.label, value: [p.x, rowOf(p.cpu, p.lane)] })),
  }));
  if (view.marked !== null) {
    const m = view.marked;
    series.push({
      type: 'scatter', name: 'violating access', symbol: 'diamond', symbolSize: 20, z: 20, itemStyle: { color: VIOLATION_COLOUR },
      data: [{ name: `VIOLATION ${m.label}`, value: [m.x, rowOf(m.cpu, m.lane)] }],
      markLine: { symbol: 'none', silent: true, lineStyle: { color: VIOLATION_COLOUR, type: 'dashed', width: 2 }, label: { formatter: 'violating access' }, data: [{ xAxis: m.x }] },
    });
  }
  return {
    animation: false,
    grid: { left: 150, right: 30, top: 30, bottom: 45 },
    tooltip: { trigger: 'item', formatter: '{b}' },
    xAxis: {
      type: 'value', name: 'op number of each CPU', nameLocation: 'middle', nameGap: 28, nameTextStyle: AXIS_FONT, axisLabel: AXIS_FONT,
      min: xs.length ? Math.floor(Math.min(...xs)) : 0, max: xs.length ? Math.ceil(Math.max(...xs)) : 1,
    },
    yAxis: { type: 'category', data: rows, inverse: true, axisLabel: AXIS_FONT, splitLine: { show: true } },
    series,
  };
}
