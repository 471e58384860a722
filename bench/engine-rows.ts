// Rows measured on the free engine (one worker thread per simulated CPU):
// the single-page shootdown latency curve and the oversubscription curves.
// A point of a curve is one run; its trials are consecutive windows of that
// run (starting 64 workers per trial would measure start-up, not the
// steady state), each point's figure the median of the windows.

import { C } from '../native-layout/counters.js';
import { COUNTERS_STRIDE } from '../native-layout/fields.js';
import { createMachineMemory } from '../native-layout/memory.js';
import { defaultShape } from '../native-layout/shape.js';
import { runFree } from '../src/engine/index.js';
import { requestStop, runStarted } from '../src/engine/control.js';
import { MIN_TRIALS, makeRow, median, type Row } from './harness.js';
import { WarmupDetector } from './warmup.js';

const PROGRAM = new URL('./shootdown-program.js', import.meta.url);

/**
 * Splits samples into `k` consecutive windows and returns each window's
 * median. The median, not the mean: on a host with fewer cores than
 * threads a shootdown's latency has a long tail of host-scheduler
 * preemptions (at 2 CPUs, p50 1.1 µs and p99 59 µs in one run), and a
 * window's mean followed how many of those it happened to catch: the @2
 * point read 18, 31 and 33 µs in three full benches, and every ratio of
 * the curve is taken against it.
 */
function windowMedians(samples: readonly number[], k: number): number[] {
  const out: number[] = [];
  const per = Math.floor(samples.length / k);
  if (per === 0) throw new Error(`bench: ${samples.length} samples cannot make ${k} windows`);
  for (let w = 0; w < k; w++) out.push(median(samples.slice(w * per, (w + 1) * per)));
  return out;
}

/**
 * Single-page shootdown latency (µs) at each CPU count: one initiator, every
 * other CPU a target. The ratio is the growth against linear from the first
 * point: (lat(N) / lat(N0)) / ((N - 1) / (N0 - 1)), at most 1 when the
 * curve grows at most linearly in the number of targets.
 */
export async function benchShootdownCurve(points: readonly number[], shootdowns: number): Promise<Row[]> {
  const rows: Row[] = [];
  let first: { n: number; lat: number } | null = null;
  for (const n of points) {
    // An op budget, not a time: on a loaded host a 64-CPU shootdown can take
    // tens of ms, and every point needs its windows. The targets' ops are
    // idle rounds; once done they quiesce, which still answers IPIs.
    const res = await runFree({ scenario: 'bench-shootdown', programModule: PROGRAM, cpus: n, ops: shootdowns, watchdogMs: 20_000 });
    const samples = (res.perCpu[0]!.summary as { samplesMs: number[] }).samplesMs;
    // The first window's worth is warm-up (JIT, workers still parking).
    const windows = windowMedians(samples.slice(Math.floor(samples.length / (MIN_TRIALS + 1))), MIN_TRIALS).map((ms) => ms * 1000);
    const lat = median(windows);
    first ??= { n, lat };
    const linear = first.lat * Math.max(1, (n - 1) / Math.max(1, first.n - 1));
    rows.push(makeRow({
      name: `single-page shootdown @${n} CPUs`,
      unit: 'µs',
      values: windows,
      baselines: linear,
      baselineName: `linear from @${first.n}`,
      target: n === first.n ? null : { on: 'ratio', op: '<=', bound: 1 },
    }));
  }
  return rows;
}

/**
 * Oversubscription: a scenario's throughput at each CPU count in its steady
 * state. Each point is one run, sampled in windows of `windowMs`: first
 * until it is warm (bench/warmup.ts: ops per host CPU-second without a new
 * high for `calmMs`, at most `warmCapMs`; a point that reaches the cap, or
 * any point when calmMs is null, is measured anyway and named "not warm"),
 * then `trials` windows (MIN_TRIALS unless more are asked for), the point's trials. counter: 'ops'
 * (total ops/s) or 'ipisReceived' (IPIs handled/s). The ratio of each point
 * is its value over the curve's peak; the last point's target is >= 0.7 of
 * the peak. Prints each point's warm-up time on stderr.
 */
export async function benchOversubscription(opts: {
  name: string;
  scenario: string;
  options: Record<string, string | number>;
  counter: 'ops' | 'ipisReceived';
  unit: string;
  points: readonly number[];
  windowMs: number;
  /** How long the rate must go without a new high to count as warm; null: never (measure after warmCapMs). */
  calmMs: number | null;
  warmCapMs: number;
  /** Windows measured per point once warm (at least MIN_TRIALS). */
  trials?: number;
}): Promise<Row[]> {
  const trials = Math.max(MIN_TRIALS, opts.trials ?? MIN_TRIALS);
  const at = C[opts.counter];
  const perPoint: { n: number; windows: number[]; warm: boolean }[] = [];
  for (const n of opts.points) {
    // Room for one process per CPU (mm 0 is init_mm) and a kernel thread per CPU.
    const mem = createMachineMemory(defaultShape({ memBytes: 256 * 2 ** 20, cpus: n, maxMms: 128, maxTasks: 256 }));
    const { control, counters } = mem.views;
    const total = (): number => {
      let s = 0;
      for (let c = 0; c < n; c++) s += counters[c * COUNTERS_STRIDE + at]!;
      return s;
    };
    const windows: number[] = [];
    const detector = opts.calmMs === null ? null : new WarmupDetector(1.1, Math.max(3, Math.ceil(opts.calmMs / opts.windowMs)));
    let warm = false;
    let warmAt = 0;
    let startedAt = 0;
    let last: { t: number; v: number; cpu: number } | null = null;
    const timer = setInterval(() => {
      if (!runStarted(control)) return;
      const u = process.cpuUsage();
      const now = { t: performance.now(), v: total(), cpu: (u.user + u.system) / 1e6 };
      if (last === null) { last = now; startedAt = now.t; return; }
      if (now.t - last.t < opts.windowMs) return;
      const rate = (now.v - last.v) / ((now.t - last.t) / 1000);
      // Warm-up is judged on work per host CPU-second, not per second: how
      // much of the host this process gets moves with other jobs, while the
      // compiles that make a run cold show as CPU spent per op.
      const perCpuSecond = now.cpu > last.cpu ? (now.v - last.v) / (now.cpu - last.cpu) : 0;
      last = now;
      if (!warm) {
        warm = detector?.push(perCpuSecond) === true || now.t - startedAt >= opts.warmCapMs;
        if (warm) warmAt = now.t;
        return;
      }
      if (windows.length < trials) windows.push(rate);
      // Enough windows: stop the run here rather than at a fixed time (a
      // loaded host stretches the timer's ticks; the windows are what count).
      if (windows.length === trials) requestStop(mem.views);
    }, 5);
    try {
      // seconds is only a safety cap; the sampler stops the run.
      const cap = (opts.warmCapMs + opts.windowMs * (trials + 2)) / 1000 * 3 + 30;
      const res = await runFree({ scenario: opts.scenario, memory: mem, cpus: n, seconds: cap, options: opts.options, watchdogMs: 20_000 });
      if (res.violations > 0 || res.framesLost > 0) throw new Error(`bench: ${opts.scenario} @${n} CPUs saw ${res.violations} violations, ${res.framesLost} frames lost`);
    } finally {
      clearInterval(timer);
    }
    if (windows.length < trials) throw new Error(`bench: ${opts.scenario} @${n} CPUs gave ${windows.length} windows, need ${trials}`);
    const settled = detector?.warm() === true;
    process.stderr.write(`  ${opts.name} @${n} CPUs: ${settled ? 'warm' : 'NOT warm (cap reached)'} after ${((warmAt - startedAt) / 1000).toFixed(1)} s\n`);
    perPoint.push({ n, windows, warm: settled });
  }
  const peak = Math.max(...perPoint.map((p) => median(p.windows)));
  const lastN = opts.points[opts.points.length - 1];
  return perPoint.map((p) => makeRow({
    name: `${opts.name} @${p.n} CPUs${p.warm ? '' : ' (not warm)'}`,
    unit: opts.unit,
    values: p.windows,
    baselines: peak,
    baselineName: 'curve peak',
    // A cold point cannot be held to a steady-state target: no verdict.
    target: p.n === lastN && lastN >= 64 && p.warm ? { on: 'ratio', op: '>=', bound: 0.7 } : null,
  }));
}
