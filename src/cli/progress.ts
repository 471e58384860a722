// The progress bar of `run`: started when every CPU has booted (the start
// barrier opened), so its clock is the run's own; shows the time or op
// progress, the ops per second over all CPUs and the violations so far,
// read from the live counter blocks in shared memory.

import cliProgress from 'cli-progress';
import { C } from '../../native-layout/counters.js';
import { COUNTERS_STRIDE } from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { terminalChanged } from './terminal.js';

const REFRESH_MS = 250;

/** Is a person watching stderr (a TTY, not CI, not turned off)? */
export function progressWanted(enabled: boolean): boolean {
  return enabled && process.stderr.isTTY === true && !process.env['CI'];
}

function sumCounter(counters: Float64Array, cpus: number, index: number): number {
  let s = 0;
  for (let cpu = 0; cpu < cpus; cpu++) s += counters[cpu * COUNTERS_STRIDE + index]!;
  return s;
}

/** "45s", "2m05s", "1h03m": a duration in seconds as a bar shows it. */
function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The bar's "remaining" field: elapsed x (total - done) / done, or "-"
 * before anything is done. cli-progress's own ETA printed "NFs" (its
 * NaN) until the first unit completed, which reads as a fault.
 */
export function remainingText(elapsedS: number, done: number, total: number): string {
  if (!(done > 0) || !(elapsedS > 0)) return '-';
  return durationText((elapsedS * Math.max(0, total - done)) / done);
}

export interface RunProgress {
  /** Give it to runOnce's onMachine: starts the bar on the booted machine. */
  readonly start: (mem: MachineMemory) => void;
  readonly stop: () => void;
}

/**
 * A run's bar: `seconds` (time-limited) or `ops` per CPU (op-limited; with
 * both, ops). Does nothing unless `enabled`.
 */
export function runProgress(enabled: boolean, seconds: number | undefined, ops: number | undefined): RunProgress {
  if (!enabled) return { start: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    start(mem) {
      const cpus = mem.layout.shape.cpus;
      const byOps = ops !== undefined;
      const total = byOps ? ops * cpus : Math.ceil(seconds ?? 1);
      const unit = byOps ? 'ops' : 's';
      bar = new cliProgress.SingleBar({
        format: `running [{bar}] {value}/{total} ${unit} | elapsed {duration_formatted} | remaining {remaining} | {rate} ops/s | {violations} violations`,
        stream: process.stderr, hideCursor: true, formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? v.toLocaleString('en-US') : String(v)),
      }, cliProgress.Presets.shades_classic);
      terminalChanged();
      bar.start(total, 0, { rate: 0, violations: 0, remaining: '-' });
      const t0 = Date.now();
      timer = setInterval(() => {
        const done = sumCounter(mem.views.counters, cpus, C.ops);
        const elapsed = (Date.now() - t0) / 1000;
        const value = byOps ? Math.min(total, done) : Math.min(total, Math.floor(elapsed));
        bar!.update(value, {
          remaining: byOps ? remainingText(elapsed, value, total) : durationText(Math.max(0, (seconds ?? 1) - elapsed)),
          rate: elapsed > 0 ? Math.round(done / elapsed).toLocaleString('en-US') : 0,
          violations: sumCounter(mem.views.counters, cpus, C.violations).toLocaleString('en-US'),
        });
      }, REFRESH_MS);
    },
    stop() {
      clearInterval(timer);
      bar?.stop();
      bar = null;
    },
  };
}

/** A bar over a series of runs (compare's samples, soak's jobs): same fields as run's. */
export interface SeriesProgress {
  /** Give it to runOnce's onMachine: follows the live run's counters. */
  readonly onMachine: (mem: MachineMemory) => void;
  /** A run finished: its ops and violations join the totals. */
  readonly runDone: (report: Record<string, unknown>) => void;
  /** Names the run about to start (shown at the end of the bar). */
  readonly next: (job: string) => void;
  readonly stop: () => void;
}

/**
 * `label [bar] runs done/total | elapsed | remaining | ops/s | violations |
 * job`: the bar moves by whole runs, and within an op-limited run by its
 * share of `opsPerRun` (ops per CPU), so the remaining time is estimated
 * from real progress. ops/s and violations count finished runs plus the
 * live one, read from its counter blocks in shared memory. Does nothing
 * unless `enabled`.
 */
export function seriesProgress(enabled: boolean, label: string, runs: number, opsPerRun: number | undefined): SeriesProgress {
  if (!enabled) return { onMachine: () => {}, runDone: () => {}, next: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar({
    format: `${label} [{bar}] {done}/{runs} runs | elapsed {duration_formatted} | remaining {remaining} | {rate} ops/s | {violations} violations | {job}`,
    stream: process.stderr, hideCursor: true,
  }, cliProgress.Presets.shades_classic);
  terminalChanged();
  const t0 = Date.now();
  let done = 0;
  let opsDone = 0;
  let violationsDone = 0;
  let live: MachineMemory | null = null;
  let job = '';
  const draw = (): void => {
    const cpus = live?.layout.shape.cpus ?? 0;
    const liveOps = live ? sumCounter(live.views.counters, cpus, C.ops) : 0;
    const liveViolations = live ? sumCounter(live.views.counters, cpus, C.violations) : 0;
    const share = live && opsPerRun !== undefined ? Math.min(0.999, liveOps / (opsPerRun * cpus)) : 0;
    const elapsed = (Date.now() - t0) / 1000;
    const value = Math.min(runs, done + share);
    bar.update(value, {
      done, runs, job, remaining: remainingText(elapsed, value, runs),
      rate: elapsed > 0 ? Math.round((opsDone + liveOps) / elapsed).toLocaleString('en-US') : 0,
      violations: (violationsDone + liveViolations).toLocaleString('en-US'),
    });
  };
  bar.start(runs, 0, { done: 0, runs, rate: 0, violations: 0, job: '', remaining: '-' });
  const timer = setInterval(draw, REFRESH_MS);
  return {
    onMachine(mem) { live = mem; },
    runDone(report) {
      const totals = (report['totals'] ?? {}) as Record<string, number>;
      live = null;
      done += 1;
      opsDone += totals['ops'] ?? 0;
      violationsDone += totals['violations'] ?? 0;
      draw();
    },
    next(name) { job = name; draw(); },
    stop() {
      clearInterval(timer);
      bar.stop();
    },
  };
}
