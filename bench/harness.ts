// Benchmark harness. A figure is never one timing: each is the median of at
// least MIN_TRIALS trials, and where it has a baseline the subject and the
// baseline alternate trial by trial in the same process, so a noisy shared
// machine moves both sides alike. The ratio is the median of the per-trial
// ratios (each subject trial paired with the baseline trial next to it),
// which cancels slow drifts of the host better than a ratio of medians.

/** Fewest trials behind any figure the bench prints. */
export const MIN_TRIALS = 5;

/**
 * One printed row (and one JSON row of `--json FILE`).
 * - value: the subject's median over the trials, in `unit`;
 * - baseline: what the row is compared with (a raw loop's median, a peak,
 *   a budget), in the same unit, or null;
 * - ratio: median of per-trial value/baseline (or value/baseline for a
 *   budget), or null without a baseline;
 * - target: the condition the row must meet, as text naming what it tests
 *   ("ratio >= 0.5", "value < 2000 ms"), or null for a reported-only row;
 * - pass: whether it holds (null without a target);
 * - min, max: the subject's extreme trials; ratioMin/ratioMax likewise.
 */
export interface Row {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: number | null;
  readonly baselineName: string | null;
  readonly ratio: number | null;
  readonly target: string | null;
  readonly pass: boolean | null;
  readonly min: number;
  readonly max: number;
  readonly ratioMin: number | null;
  readonly ratioMax: number | null;
  readonly trials: number;
}

/** A target on a row: which figure, the comparison and the bound. */
export interface Target {
  readonly on: 'ratio' | 'value';
  readonly op: '>=' | '<=' | '<';
  readonly bound: number;
}

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) throw new RangeError('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function holds(t: Target, x: number): boolean {
  return t.op === '>=' ? x >= t.bound : t.op === '<=' ? x <= t.bound : x < t.bound;
}

function targetText(t: Target, unit: string): string {
  return t.on === 'ratio' ? `ratio ${t.op} ${t.bound}` : `value ${t.op} ${t.bound} ${unit}`;
}

/**
 * Builds a row from per-trial samples. baselines, when given, pair with
 * values index by index (the same trial round). A scalar baseline (a peak
 * or a budget) divides every trial.
 */
export function makeRow(opts: {
  name: string;
  unit: string;
  values: readonly number[];
  baselines?: readonly number[] | number | null;
  baselineName?: string | null;
  target?: Target | null;
}): Row {
  const { values } = opts;
  const b = opts.baselines ?? null;
  let baseline: number | null = null;
  let ratios: number[] | null = null;
  if (typeof b === 'number') {
    baseline = b;
    ratios = values.map((v) => v / b);
  } else if (b !== null) {
    if (b.length !== values.length) throw new RangeError(`${opts.name}: ${values.length} trials but ${b.length} baselines`);
    baseline = median(b);
    ratios = values.map((v, i) => v / b[i]!);
  }
  const value = median(values);
  const ratio = ratios === null ? null : median(ratios);
  const t = opts.target ?? null;
  let pass: boolean | null = null;
  if (t !== null) {
    const x = t.on === 'ratio' ? ratio : value;
    pass = x === null ? false : holds(t, x);
  }
  return {
    name: opts.name,
    unit: opts.unit,
    value,
    baseline,
    baselineName: opts.baselineName ?? null,
    ratio,
    target: t === null ? null : targetText(t, opts.unit),
    pass,
    min: Math.min(...values),
    max: Math.max(...values),
    ratioMin: ratios === null ? null : Math.min(...ratios),
    ratioMax: ratios === null ? null : Math.max(...ratios),
    trials: values.length,
  };
}

/**
 * Runs fn (which performs `ops` operations) once and returns operations per
 * second of this process's CPU time (user + system). The single-threaded
 * rows are timed this way: on a host shared with other jobs, wall time
 * counts the slices the scheduler gave to someone else, CPU time does not.
 */
export function rate(fn: () => void, ops: number): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  const us = d.user + d.system;
  return ops / (Math.max(us, 1) / 1e6);
}

/**
 * Alternates subject and baseline `trials` times (after one untimed run of
 * each, so both are optimised first) and returns the row. Rates in ops/s.
 */
export function compareRates(opts: {
  name: string;
  unit: string;
  ops: number;
  trials: number;
  subject: () => void;
  baselineName: string;
  baseline: () => void;
  target: Target | null;
}): Row {
  if (opts.trials < MIN_TRIALS) throw new RangeError(`${opts.name}: ${opts.trials} trials, need at least ${MIN_TRIALS}`);
  opts.subject();
  opts.baseline();
  const s: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < opts.trials; r++) {
    // Alternate which side goes first, so neither always runs on the
    // cache and clock state the other leaves.
    if (r % 2 === 0) {
      s.push(rate(opts.subject, opts.ops));
      b.push(rate(opts.baseline, opts.ops));
    } else {
      b.push(rate(opts.baseline, opts.ops));
      s.push(rate(opts.subject, opts.ops));
    }
  }
  return makeRow({ name: opts.name, unit: opts.unit, values: s, baselines: b, baselineName: opts.baselineName, target: opts.target });
}

// ---- printing ------------------------------------------------------------------

function num(n: number | null): string {
  if (n === null) return '-';
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

/** The bench table in markdown: one line per row. */
export function formatTable(rows: readonly Row[]): string {
  const out = [
    '| benchmark | value (median) | min | max | unit | baseline | ratio (min..max) | target | pass |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const base = r.baseline === null ? '-' : `${num(r.baseline)}${r.baselineName ? ` (${r.baselineName})` : ''}`;
    const ratio = r.ratio === null ? '-' : `${num(r.ratio)} (${num(r.ratioMin)}..${num(r.ratioMax)})`;
    const pass = r.pass === null ? '-' : r.pass ? 'yes' : 'NO';
    out.push(`| ${r.name} | ${num(r.value)} | ${num(r.min)} | ${num(r.max)} | ${r.unit} | ${base} | ${ratio} | ${r.target ?? '-'} | ${pass} |`);
  }
  return out.join('\n');
}
