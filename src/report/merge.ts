// Pooling comparisons made on several machines (`shootdown merge`): each
// CompareReport holds, per metric and variant, the sample count, mean, min,
// max and sample standard deviation; those are enough to recompute the same
// five figures over the union of the samples exactly, without the samples
// themselves. Deltas and verdicts are then recomputed against the pooled
// base. Pure functions; the CLI reads and checks the files
// (src/cli/merge-command.ts).

import { type BetterDirection, type MetricSummary, type VariantSummary, verdictOf } from './compare.js';
import type { CompareReportObject } from './compare-file.js';

/** Two comparisons that cannot be pooled: the message names the field and both values. */
export class MergeMismatchError extends Error {
  override name = 'MergeMismatchError';
}

interface Pooled { samples: number; mean: number; min: number; max: number; stddev: number }

/**
 * The five figures of the union of several groups of samples. The pooled
 * sum of squared deviations is each group's own, (n-1) s^2, plus its
 * n (mean - pooled mean)^2 (the parallel form of Welford/Chan et al.);
 * the result's stddev is again the n-1 sample standard deviation.
 */
export function poolGroups(groups: readonly Pooled[]): Pooled {
  const n = groups.reduce((s, g) => s + g.samples, 0);
  if (n === 0) return { samples: 0, mean: 0, min: 0, max: 0, stddev: 0 };
  const mean = groups.reduce((s, g) => s + g.samples * g.mean, 0) / n;
  const ss = groups.reduce((s, g) => s + (g.samples - 1) * g.stddev ** 2 + g.samples * (g.mean - mean) ** 2, 0);
  const live = groups.filter((g) => g.samples > 0);
  return {
    samples: n, mean,
    min: Math.min(...live.map((g) => g.min)), max: Math.max(...live.map((g) => g.max)),
    stddev: n > 1 ? Math.sqrt(Math.max(0, ss) / (n - 1)) : 0,
  };
}

function poolMetric(parts: readonly MetricSummary[]): MetricSummary {
  const first = parts[0]!;
  const better = first.betterDirection as BetterDirection;
  const rows = first.variants.map((v, i) => ({
    variant: v.variant, ...poolGroups(parts.map((p) => p.variants[i]!)),
    // Older compare files have no violations field: count it as 0.
    violations: parts.reduce((n, p) => n + (p.variants[i]!.violations ?? 0), 0),
  }));
  const base = rows[0]!.mean;
  return {
    name: first.name, unit: first.unit, betterDirection: better,
    variants: rows.map((r, i): VariantSummary => ({
      ...r,
      deltaPct: i === 0 || base === 0 ? 0 : ((r.mean - base) / Math.abs(base)) * 100,
      verdict: i === 0 ? 'base' : verdictOf(base, r.mean, better),
      baseZero: i > 0 && base === 0,
    })),
  };
}

const SAME_FIELDS = ['scenario', 'profile', 'cpus', 'ops', 'seconds', 'memBytes'] as const;

function metricsOf(r: CompareReportObject, field: 'metrics' | 'asiExitReasons'): MetricSummary[] {
  return (r[field] ?? []) as MetricSummary[];
}

/** What makes two comparisons poolable, checked field by field; throws MergeMismatchError naming the first difference. */
function assertSameRun(names: readonly string[], reports: readonly CompareReportObject[]): void {
  const [a, ...rest] = reports;
  rest.forEach((b, k) => {
    const which = `${names[0]} and ${names[k + 1]}`;
    for (const f of SAME_FIELDS) {
      if (a![f] !== b[f]) throw new MergeMismatchError(`${which} differ in ${f}: ${JSON.stringify(a![f])} vs ${JSON.stringify(b[f])}`);
    }
    // Scenario options change what an op does (readsPerOp, threads...):
    // pooling runs made with different ones averages two experiments.
    const oa = ((a!['options'] ?? []) as string[]).join(' ');
    const ob = ((b['options'] ?? []) as string[]).join(' ');
    if (oa !== ob) throw new MergeMismatchError(`${which} differ in options: ${JSON.stringify(oa || '(defaults)')} vs ${JSON.stringify(ob || '(defaults)')}`);
    const ma = metricsOf(a!, 'metrics').map((m) => m.name).join(',');
    const mb = metricsOf(b, 'metrics').map((m) => m.name).join(',');
    if (ma !== mb) throw new MergeMismatchError(`${which} differ in metrics: ${ma || '(none)'} vs ${mb || '(none)'}`);
    const va = metricsOf(a!, 'metrics')[0]?.variants.map((v) => v.variant).join(',') ?? '';
    const vb = metricsOf(b, 'metrics')[0]?.variants.map((v) => v.variant).join(',') ?? '';
    if (va !== vb) throw new MergeMismatchError(`${which} differ in variants: ${va} vs ${vb} (the same list, base first)`);
    for (const m of metricsOf(b, 'metrics')) {
      const twin = metricsOf(a!, 'metrics').find((x) => x.name === m.name)!;
      if (twin.betterDirection !== m.betterDirection || twin.unit !== m.unit) {
        throw new MergeMismatchError(`${which} differ in the definition of ${m.name}: ${twin.unit}/${twin.betterDirection} vs ${m.unit}/${m.betterDirection}`);
      }
    }
  });
}

/**
 * One CompareReport from several (`names` label them in errors, e.g. file
 * paths): every metric's samples pooled per variant, deltas and verdicts
 * recomputed. They must share scenario, profile, CPUs, run length, memory,
 * scenario options, metrics and variants (else MergeMismatchError). Exit-reason summaries are pooled
 * when every input has them; the timelines of the first input that has
 * some are kept (a timeline is one sample's picture, not a statistic).
 */
export function mergeCompareReports(names: readonly string[], reports: readonly CompareReportObject[]): CompareReportObject {
  if (reports.length === 0) throw new MergeMismatchError('nothing to merge');
  assertSameRun(names, reports);
  const first = reports[0]!;
  const pool = (field: 'metrics' | 'asiExitReasons'): MetricSummary[] =>
    metricsOf(first, field).map((m) => poolMetric(reports.map((r) => metricsOf(r, field).find((x) => x.name === m.name)!)));
  const reasonsEverywhere = reports.every((r) => metricsOf(r, 'asiExitReasons').length === metricsOf(first, 'asiExitReasons').length
    && metricsOf(first, 'asiExitReasons').every((m) => metricsOf(r, 'asiExitReasons').some((x) => x.name === m.name)));
  const metrics = pool('metrics');
  return {
    scenario: first['scenario'], profile: first['profile'], cpus: first['cpus'], ops: first['ops'], seconds: first['seconds'],
    options: first['options'] ?? [], memBytes: first['memBytes'] ?? 0,
    samples: metrics[0]?.variants[0]?.samples ?? 0,
    metrics,
    toolVersion: first['toolVersion'],
    timelines: reports.map((r) => (r['timelines'] ?? []) as unknown[]).find((t) => t.length > 0) ?? [],
    asiExitReasons: reasonsEverywhere ? pool('asiExitReasons') : [],
  };
}
