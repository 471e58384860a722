// What the kernel interleaving points cost when they are off (issue 11:
// "under 3% of the TLB-hit and alloc figures"). kernelPoint(site) stays in
// the kernel paths for good; off, it is a load of the hook and a compare.
// To measure that, the two subjects (bench/points-subjects.ts) are bundled
// twice with esbuild, identically except that in one bundle kernelPoint's
// body is removed, and the two bundles alternate, one child process per
// trial (bench/points-child.ts), in this run. ratio = as built / points
// removed, the median of the per-round ratios; the target is >= 0.97.
//
// Both sides are bundles, so module layout and inlining budgets are alike;
// the only difference is the body of one function.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { makeRow, type Row } from './harness.js';

const ENTRY = fileURLToPath(new URL('./points-subjects.js', import.meta.url));
const CHILD = fileURLToPath(new URL('./points-child.js', import.meta.url));
const HOOK_RE = /export function kernelPoint\(site\) \{[^}]*\}/;

/** An esbuild plugin that empties kernelPoint in src/sync/hook.js; fails the build when it cannot find it. */
const emptyKernelPoint: Plugin = {
  name: 'empty-kernel-point',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]sync[\\/]hook\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      if (!HOOK_RE.test(src)) throw new Error(`points-cost: kernelPoint not found in ${args.path} (its compiled form changed?)`);
      return { contents: src.replace(HOOK_RE, 'export function kernelPoint(site) { }'), loader: 'js' };
    });
  },
};

async function bundle(dir: string, name: string, plugins: Plugin[]): Promise<string> {
  const file = join(dir, `${name}.mjs`);
  await build({
    entryPoints: [ENTRY], bundle: true, platform: 'node', format: 'esm', target: 'node20',
    packages: 'external', logLevel: 'silent', plugins, outfile: file,
  });
  return file;
}

/**
 * The command prefix that pins a child to one host CPU, the same for every
 * child: on the 2-core development VM one vCPU ran the same process 1.6x
 * faster than the other (75 vs 48 M hits/s, `taskset -c 0|1`), so unpinned
 * children measured where the scheduler put them. [] when taskset (Linux
 * util-linux) is missing: then the rows are noisier.
 */
function pinPrefix(): string[] {
  const cpu = Math.max(0, availableParallelism() - 1);
  const probe = spawnSync('taskset', ['-c', String(cpu), process.execPath, '-e', ''], { stdio: 'ignore' });
  return probe.status === 0 ? ['taskset', '-c', String(cpu)] : [];
}

/** One child run of `which` on bundle `file`: its median rate (per second of its CPU time). */
function childRate(pin: string[], file: string, which: 'hit' | 'alloc', iterations: number, trials: number): number {
  const argv = [process.execPath, CHILD, file, which, String(iterations), String(trials)];
  const cmd = [...pin, ...argv];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`points-cost: child ${which} on ${file} exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  const out = JSON.parse(r.stdout) as { rate: number; misses: number };
  if (out.misses > 0) throw new Error(`points-cost: ${out.misses} TLB misses in the hit subject: it measured something else`);
  return out.rate;
}

/**
 * Rounds of one child process per side, the two sides alternating (and
 * swapping which goes first each round). Each process JIT-compiles the
 * subject afresh, so one side's tiering luck does not stick to it for the
 * whole row as it would in one process (two identical bundles in one
 * process differed by up to 30%).
 */
function compareChildren(opts: {
  name: string; unit: string; which: 'hit' | 'alloc'; on: string; off: string; iterations: number; rounds: number; trials: number;
  pin: string[];
}): Row {
  const values: number[] = [];
  const baselines: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    if (r % 2 === 0) {
      values.push(childRate(opts.pin, opts.on, opts.which, opts.iterations, opts.trials));
      baselines.push(childRate(opts.pin, opts.off, opts.which, opts.iterations, opts.trials));
    } else {
      baselines.push(childRate(opts.pin, opts.off, opts.which, opts.iterations, opts.trials));
      values.push(childRate(opts.pin, opts.on, opts.which, opts.iterations, opts.trials));
    }
  }
  return makeRow({
    name: opts.name, unit: opts.unit, values, baselines, baselineName: 'same bundle, kernelPoint removed',
    target: { on: 'ratio', op: '>=', bound: 0.97 },
  });
}

/** Two rows: TLB hit and order-0 alloc+free, each as built vs with kernelPoint removed. Target ratio >= 0.97. */
export async function benchPointsCost(quick: boolean): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'shootdown-points-'));
  try {
    const on = await bundle(dir, 'as-built', []);
    // POINTS_AA=1: the same bundle on both sides, a control of the noise
    // floor (its ratio should be 1 within the noise; bench/README.md).
    const off = await bundle(dir, 'no-points', process.env['POINTS_AA'] === '1' ? [] : [emptyKernelPoint]);
    const rounds = quick ? 5 : 30;
    const trials = 3;
    const pin = pinPrefix();
    if (pin.length === 0) process.stderr.write('bench: taskset not found: the points-cost children are not pinned to one CPU (noisier)\n');
    return [
      compareChildren({ name: 'interleaving points off: TLB hit', unit: 'lookups/s', which: 'hit', on, off, iterations: 2_000_000, rounds, trials, pin }),
      compareChildren({ name: 'interleaving points off: alloc+free', unit: 'pairs/s', which: 'alloc', on, off, iterations: 300_000, rounds, trials, pin }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
