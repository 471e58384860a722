// Start-up and memory of a big machine, each trial in a fresh process (a
// warm process would hide module loading, which is most of the cost), and
// the shared-memory cost per emulated frame (computed, exact).

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { computeLayout } from '../native-layout/compute.js';
import { defaultShape } from '../native-layout/shape.js';
import { MIN_TRIALS, makeRow, type Row } from './harness.js';

/**
 * The child, bundled into one file the way the shootdown command's main
 * thread is (dist/cli.js loads dist/src/engine/cli.bundle.mjs), so that the
 * row measures the machine and the engine, not Node resolving ~300
 * unbundled modules (681-684 MB against 689-693 MB, and ~90 ms). A real
 * `shootdown run ipi-storm --cpus 64 --mem 16G --ops 1` peaks higher,
 * 689-691 MB: the CLI's own modules and its report. `npm run build` makes
 * the bundle beside the CLI's, because the engine finds its worker files
 * relative to its own module; without it the unbundled child runs, and
 * benchStartup says so on stderr.
 */
const CHILD_BUNDLE = fileURLToPath(new URL('../src/engine/startup-child.bundle.mjs', import.meta.url));
const CHILD = existsSync(CHILD_BUNDLE) ? CHILD_BUNDLE : fileURLToPath(new URL('./startup-child.js', import.meta.url));
const MIB = 2 ** 20;
const PER_CPU_BUDGET = 8 * MIB;

interface Trial {
  readonly toFirstOpMs: number;
  readonly wallMs: number;
  readonly maxRssBytes: number;
  readonly sabBytes: number;
  readonly ops: number;
}

export function benchStartup(cpus: number, memBytes: number, trials = MIN_TRIALS): Row[] {
  if (CHILD !== CHILD_BUNDLE) process.stderr.write(`  start-up: no ${CHILD_BUNDLE} (npm run build makes it): measuring the unbundled child\n`);
  const runs: Trial[] = [];
  for (let i = 0; i < trials; i++) {
    const out = execFileSync(process.execPath, [CHILD], {
      env: { ...process.env, STARTUP_CPUS: String(cpus), STARTUP_MEM: String(memBytes) },
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const t = JSON.parse(out.trim().split('\n').pop()!) as Trial;
    if (t.ops !== cpus) throw new Error(`bench: start-up run did ${t.ops} ops, expected ${cpus}`);
    runs.push(t);
  }
  const gib = memBytes / 2 ** 30;
  const budget = runs[0]!.sabBytes + cpus * PER_CPU_BUDGET;
  return [
    makeRow({
      name: `start-up to first op, ${cpus} CPUs ${gib} GiB`,
      unit: 'ms',
      values: runs.map((r) => r.toFirstOpMs),
      target: { on: 'value', op: '<', bound: 2000 },
    }),
    makeRow({
      name: `peak RSS, ${cpus} CPUs ${gib} GiB`,
      unit: 'MiB',
      values: runs.map((r) => r.maxRssBytes / MIB),
      baselines: budget / MIB,
      baselineName: 'SAB + 8 MiB/CPU',
      target: { on: 'ratio', op: '<=', bound: 1 },
    }),
  ];
}

/** SAB bytes per emulated 4 KiB frame of a 16 GiB, 64-CPU machine (metadata only; computed, not timed). */
export function benchSabPerFrame(): Row {
  const layout = computeLayout(defaultShape({ memBytes: 16 * 2 ** 30, cpus: 64 }));
  // One exact figure: the layout is arithmetic, there is nothing to time.
  return makeRow({
    name: 'SAB bytes per 4 KiB frame (16 GiB, 64 CPUs)',
    unit: 'bytes',
    values: [layout.bytesPerFrame],
    target: { on: 'value', op: '<=', bound: 32 },
  });
}
