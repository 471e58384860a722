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
        format: `running [{bar}] {value}/{total} ${unit} | {rate} ops/s | {violations} violations`,
        stream: process.stderr, hideCursor: true, formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? v.toLocaleString('en-US') : String(v)),
      }, cliProgress.Presets.shades_classic);
      terminalChanged();
      bar.start(total, 0, { rate: 0, violations: 0 });
      const t0 = Date.now();
      timer = setInterval(() => {
        const done = sumCounter(mem.views.counters, cpus, C.ops);
        const elapsed = (Date.now() - t0) / 1000;
        const value = byOps ? Math.min(total, done) : Math.min(total, Math.floor(elapsed));
        bar!.update(value, {
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
