// Comparison tables: samples (one RunReport per seed) of several variants
// of a scenario, summarised per metric as the lists post them: variant |
// samples | mean | +-stddev | min | max | delta, where each metric knows
// which way is better and each delta says "better" or "worse" against the
// first variant. Pure functions over RunReport objects; the CLI runs the
// samples (src/cli/compare-command.ts).

import { FIO_DEFAULT_READS_PER_OP } from '../workloads/mm/fio-randread.js';
import type { RunReportObject } from './run-report.js';
import { SCENARIO_OWN_COUNTERS, SCENARIOS_WITHOUT_ASI } from './scenario-counters.js';

export type BetterDirection = 'higher' | 'lower';

/** A metric read off one RunReport. */
export interface MetricDef {
  readonly name: string;
  readonly unit: string;
  readonly better: BetterDirection;
  readonly description: string;
  /** The value of one sample (a run's report). */
  readonly read: (r: RunReportObject) => number;
}

export interface VariantSummary {
  variant: string;
  samples: number;
  mean: number;
  min: number;
  max: number;
  stddev: number;
  deltaPct: number;
  verdict: 'base' | 'better' | 'worse' | 'same';
  /** A non-base variant over a base mean of 0: no relative delta (deltaPct 0), the verdict gives the direction ("same" if both are 0). */
  baseZero: boolean;
  /** Oracle violations summed over the samples (0 in a compare file written before this field). */
  violations: number;
}

export interface MetricSummary {
  name: string;
  unit: string;
  betterDirection: BetterDirection;
  variants: VariantSummary[];
}

/** A relative difference below this (0.05%) is "same". */
const SAME_BELOW = 5e-4;

function totals(r: RunReportObject): Record<string, number> {
  return (r['totals'] ?? {}) as Record<string, number>;
}

function perOp(counter: string): (r: RunReportObject) => number {
  return (r) => {
    const t = totals(r);
    const ops = t['ops'] ?? 0;
    return ops > 0 ? (t[counter] ?? 0) / ops : 0;
  };
}

/**
 * read() calls per fio-randread op in one run: its `--option readsPerOp=N`
 * as the report records it ("key=value" in `options`), else the
 * scenario's default. An op does readsPerOp reads, so ops per simulated
 * second times this is reads per simulated second.
 */
export function fioReadsPerOp(r: RunReportObject): number {
  for (const kv of (r['options'] ?? []) as string[]) {
    const m = /^readsPerOp=(\d+)$/.exec(kv);
    if (m) return Number(m[1]);
  }
  return FIO_DEFAULT_READS_PER_OP;
}

const EXIT_REASONS = ['PageFault', 'UserRet', 'ContextSwitch', 'TlbFlush', 'Misc'] as const;

/**
 * The metrics of a scenario, in table order: its simulated throughput
 * (readsPerSimSecond for fio-randread: read() calls, an op being
 * readsPerOp of them; loopsPerSimSecond otherwise: ops), simulated
 * elapsed time, ASI exits
 * per op in total and per reason, IPIs, flushes by kind, and the emulator's
 * own wall-clock rate (host-dependent: not a property of the design).
 */
export function metricsFor(scenario: string): MetricDef[] {
  const fio = scenario === 'fio-randread';
  const throughput: MetricDef = fio
    ? {
      name: 'readsPerSimSecond', unit: 'reads/sim-s', better: 'higher',
      description: 'read() calls (all CPUs) per simulated second under the profile: ops per simulated second x readsPerOp',
      read: (r) => Number(r['opsPerSimSecond'] ?? 0) * fioReadsPerOp(r),
    }
    : {
      name: 'loopsPerSimSecond', unit: 'loops/sim-s', better: 'higher',
      description: 'ops (all CPUs) per simulated second under the profile', read: (r) => Number(r['opsPerSimSecond'] ?? 0),
    };
  // An fio-randread op is readsPerOp reads: its per-op metrics say so, so
  // that a run with readsPerOp=8 is not read as 8x the exits per read.
  const op = fio ? 'op (readsPerOp reads)' : 'op';
  return [
    throughput,
    {
      name: 'simElapsedMs', unit: 'sim-ms', better: 'lower',
      description: 'simulated length of the run: the busiest CPU\'s cycles', read: (r) => Number(r['simElapsedMs'] ?? 0),
    },
    { name: 'asiExitsPerOp', unit: 'exits/op', better: 'lower', description: `asi_exit calls per ${op}`, read: perOp('asiExits') },
    ...EXIT_REASONS.map((reason): MetricDef => ({
      name: `asiExits${reason}PerOp`, unit: 'exits/op', better: 'lower',
      description: `asi_exit calls with reason ${reason} per ${op}`, read: perOp(`asiExits${reason}`),
    })),
    { name: 'asiMitigationsPerOp', unit: 'mitigations/op', better: 'lower', description: `taint-driven mitigations per ${op}`, read: perOp('asiMitigations') },
    { name: 'ipisPerOp', unit: 'IPIs/op', better: 'lower', description: `IPIs sent per ${op}`, read: perOp('ipisSent') },
    { name: 'flushesLocalPerOp', unit: 'flushes/op', better: 'lower', description: `local TLB flushes per ${op}`, read: perOp('flushesLocal') },
    { name: 'flushesRemotePerOp', unit: 'flushes/op', better: 'lower', description: `remote (IPI) flushes per ${op}`, read: perOp('flushesRemote') },
    { name: 'flushesFullPerOp', unit: 'flushes/op', better: 'lower', description: `full TLB flushes per ${op}`, read: perOp('flushesFull') },
    { name: 'invlpgPerOp', unit: 'INVLPGs/op', better: 'lower', description: `INVLPG per ${op}`, read: perOp('invlpg') },
    { name: 'tlbMissesPerOp', unit: 'misses/op', better: 'lower', description: `TLB misses (refill walks) per ${op}`, read: perOp('tlbMisses') },
    {
      name: 'wallOpsPerSecond', unit: 'ops/s', better: 'higher',
      description: 'the emulator\'s own rate on this host (not a property of the design)', read: (r) => Number(r['opsPerSec'] ?? 0),
    },
    // --- guest_memfd / mshare (issue 8): accepted by --metric for any scenario ---
    ...ISSUE8_METRICS.map(([counter, unit, what]): MetricDef => ({
      name: `${counter}PerOp`, unit, better: 'lower', description: `${what} per ${op}`, read: perOp(counter),
    })),
  ];
}

/** Issue-8 per-op metrics: counter, unit, what it counts. All lower-is-better costs. */
const ISSUE8_METRICS: readonly (readonly [string, string, string])[] = [
  ['gmemFaults', 'faults/op', 'guest_memfd folios faulted in'],
  ['gmemKernelFlushes', 'flushes/op', 'kernel-range flushes of the direct map by guest_memfd'],
  ['directMapSplits', 'splits/op', 'direct-map leaf splits (1 GiB / 2 MiB)'],
  ['directMapRestores', 'restores/op', 'direct-map restores of freed guest folios'],
  ['pageTablesForDirectMap', 'tables/op', 'page-table pages spent on the direct map'],
  ['recursionRefusals', 'refusals/op', 'direct-map changes refused on allocator re-entry'],
  ['notifierCalls', 'calls/op', 'mmu-notifier callbacks run'],
  ['iotlbInvalidations', 'invalidations/op', 'IOTLB invalidation requests'],
  ['mshareFlushes', 'flushes/op', 'TLB flushes of mshare host changes'],
  ['mshareCpusInterrupted', 'CPUs/op', 'CPUs interrupted by mshare flushes'],
];

/** Whether a metric counts ASI exits or mitigations (0 for every variant of a run without ASI). */
export function isAsiExitMetric(name: string): boolean {
  return /^asi(Exits[A-Za-z]*|Mitigations)PerOp$/.test(name);
}

/**
 * The metrics `compare` shows without --metric: a scenario with counters of
 * its own (guest-memfd, mshare) gets their per-op metrics; one that refuses
 * ASI (guest-memfd) gets no ASI-exit metrics (always 0 there); the other
 * scenarios get metricsFor() less the issue-8 metrics (0 for them).
 */
export function defaultMetricsFor(scenario: string): MetricDef[] {
  const own = new Set((SCENARIO_OWN_COUNTERS[scenario] ?? []).map((c) => `${c}PerOp`));
  const issue8 = new Set(ISSUE8_METRICS.map(([c]) => `${c}PerOp`));
  const noAsi = SCENARIOS_WITHOUT_ASI.includes(scenario);
  return metricsFor(scenario).filter((m) => (issue8.has(m.name) ? own.has(m.name) : !(noAsi && isAsiExitMetric(m.name))));
}

/**
 * Whether the terminal/Markdown output may leave a metric's table out: an
 * ASI-exit metric whose every variant is 0 in every sample (a comparison
 * without ASI on either side). The JSON and --out files keep it.
 */
export function isAllZeroAsiMetric(m: MetricSummary): boolean {
  return isAsiExitMetric(m.name) && m.variants.every((v) => v.mean === 0 && v.min === 0 && v.max === 0);
}

/** Mean, min, max and sample standard deviation (n - 1; 0 for one value). */
export function describe(values: readonly number[]): { mean: number; min: number; max: number; stddev: number } {
  const n = values.length;
  if (n === 0) return { mean: 0, min: 0, max: 0, stddev: 0 };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const varSum = values.reduce((s, v) => s + (v - mean) ** 2, 0);
  return { mean, min: Math.min(...values), max: Math.max(...values), stddev: n > 1 ? Math.sqrt(varSum / (n - 1)) : 0 };
}

/**
 * Whether `mean` is better than `base` for a metric going `better`: "same"
 * when they differ by under 0.05% of the larger.
 */
export function verdictOf(base: number, mean: number, better: BetterDirection): 'better' | 'worse' | 'same' {
  const scale = Math.max(Math.abs(base), Math.abs(mean));
  if (scale === 0 || Math.abs(mean - base) < SAME_BELOW * scale) return 'same';
  return (mean > base) === (better === 'higher') ? 'better' : 'worse';
}

/**
 * One MetricSummary per metric: `samples` maps each variant (in order, the
 * first is the base) to its runs' reports. deltaPct is relative to the base
 * mean; over a base mean of 0 there is none: deltaPct is 0, baseZero true,
 * and the verdict says "same" (both 0) or which way the mean moved.
 */
export function summarize(metrics: readonly MetricDef[], samples: ReadonlyMap<string, readonly RunReportObject[]>): MetricSummary[] {
  const variants = [...samples.keys()];
  return metrics.map((m) => {
    const rows = variants.map((variant) => ({
      variant, ...describe(samples.get(variant)!.map(m.read)), samples: samples.get(variant)!.length,
      violations: samples.get(variant)!.reduce((n, r) => n + (totals(r)['violations'] ?? 0), 0),
    }));
    const base = rows[0]!.mean;
    return {
      name: m.name,
      unit: m.unit,
      betterDirection: m.better,
      variants: rows.map((r, i): VariantSummary => ({
        variant: r.variant, samples: r.samples, mean: r.mean, min: r.min, max: r.max, stddev: r.stddev,
        deltaPct: i === 0 || base === 0 ? 0 : ((r.mean - base) / Math.abs(base)) * 100,
        verdict: i === 0 ? 'base' : verdictOf(base, r.mean, m.better),
        baseZero: i > 0 && base === 0,
        violations: r.violations,
      })),
    };
  });
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(4);
}

function deltaText(v: VariantSummary): string {
  // A variant whose runs broke the oracle's rules is marked: "+8.2% better"
  // from a kernel that skipped a flush is not a result.
  const marked = (text: string): string => (v.violations > 0 ? `${text} (violations: ${v.violations})` : text);
  return marked(deltaOnly(v));
}

function deltaOnly(v: VariantSummary): string {
  if (v.verdict === 'base') return 'base';
  // A base mean of 0 has no relative delta: no percentage, the verdict only
  // ("(base 0) same" when this mean is 0 too).
  if (v.baseZero) return `(base 0) ${v.verdict}`;
  const sign = v.deltaPct > 0 ? '+' : '';
  return `${sign}${v.deltaPct.toFixed(1)}% ${v.verdict}`;
}

/** Rows of one metric's table: variant | samples | mean | ±stddev | min | max | delta. */
export function tableRows(m: MetricSummary): string[][] {
  return m.variants.map((v) => [v.variant, String(v.samples), fmt(v.mean), `±${fmt(v.stddev)}`, fmt(v.min), fmt(v.max), deltaText(v)]);
}

export const TABLE_HEADER = ['variant', 'samples', 'mean', '±stddev', 'min', 'max', 'delta'] as const;

/** The metric's title line: name, unit and which way is better. */
export function metricTitle(m: MetricSummary): string {
  return `${m.name} (${m.unit}, ${m.betterDirection} is better)`;
}

/** GitHub-flavoured Markdown: one table per metric under a bold title. */
export function renderMarkdown(metrics: readonly MetricSummary[]): string {
  const out: string[] = [];
  for (const m of metrics) {
    out.push(`**${metricTitle(m)}**`, '', `| ${TABLE_HEADER.join(' | ')} |`, `|${TABLE_HEADER.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const r of tableRows(m)) out.push(`| ${r.join(' | ')} |`);
    out.push('');
  }
  return out.join('\n').trimEnd();
}
