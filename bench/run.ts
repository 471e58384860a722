// `npm run bench [-- --quick] [-- --json FILE] [-- --only a,b]`: every row of
// issue 13, each figure the median of at least five trials (subject and
// baseline alternating in this process where there is a baseline), printed
// with min, max, ratio and target. Exit 0 whatever the targets say (the
// table says it); 2 on a bad argument; 3 when a bench itself fails.

import { writeFileSync } from 'node:fs';
import { benchAlloc } from './alloc.js';
import { benchOversubscription, benchShootdownCurve } from './engine-rows.js';
import { formatTable, type Row } from './harness.js';
import { measureIpiRoundTrip } from './ipi.js';
import { benchPointsCost } from './points-cost.js';
import { benchSabPerFrame, benchStartup } from './startup.js';
import { benchTlbHit, benchTlbMiss } from './tlb.js';

const GROUPS = ['tlb', 'alloc', 'points', 'ipi', 'shootdown', 'oversub', 'startup', 'sab'] as const;
type Group = (typeof GROUPS)[number];

const USAGE = `usage: npm run bench -- [--quick] [--json FILE] [--only GROUP[,GROUP...]] [--help]
  --quick       the short form CI runs (fewer iterations and curve points; about a minute on 2 cores)
  --json FILE   also write the rows as JSON: [{name, value, unit, baseline, ratio, target, pass, min, max, ...}]
  --only LIST   run only these groups: ${GROUPS.join(', ')}
  --help        this text`;

interface Args {
  readonly quick: boolean;
  readonly json: string | null;
  readonly only: ReadonlySet<Group>;
}

function usageError(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let json: string | null = null;
  let only = new Set<Group>(GROUPS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--quick') {
      quick = true;
    } else if (a === '--json') {
      const f = argv[++i];
      if (f === undefined || f.startsWith('--')) usageError('--json needs a FILE: --json bench.json');
      json = f;
    } else if (a === '--only') {
      const list = argv[++i];
      if (list === undefined) usageError(`--only needs groups: use some of ${GROUPS.join(', ')}`);
      only = new Set();
      for (const g of list.split(',')) {
        if (!(GROUPS as readonly string[]).includes(g)) usageError(`--only: unknown group "${g}": use ${GROUPS.join(', ')}`);
        only.add(g as Group);
      }
    } else {
      usageError(`unknown argument "${a}": use --quick, --json FILE, --only LIST, --help`);
    }
  }
  return { quick, json, only };
}

const args = parseArgs(process.argv.slice(2));
const q = args.quick;
// The quick curve stops at 16: a 64-CPU shootdown point alone took half of
// the quick bench (start-up, cold JIT, 64 threads answering each of 120
// shootdowns on 2 cores); the full bench has every point.
const CURVE = q ? [2, 8, 16] : [2, 4, 8, 16, 32, 64];
const OVERSUB = q ? [1, 8, 64] : [1, 2, 4, 8, 16, 32, 64];
// With one CPU there is nobody to send an IPI to: the IPI curve starts at 2.
const OVERSUB_IPI = OVERSUB.map((n) => Math.max(n, 2));
// Oversubscribed points take tens of seconds to warm (bench/warmup.ts):
// the full bench waits for it (up to 2 minutes a point), then takes 2 s
// windows: the curve's peak is the largest of its points' medians, and
// with 1 s windows (IPI rates spread 0.4..0.9 of the median at 64 CPUs)
// the noisiest point set it. --quick must stay under a minute and cannot
// wait: it measures after 0.6 s and names every point "(not warm)" (no
// calm test), because in a run's first seconds the compiles keep the work
// per CPU-second flat, and a short calm window took a cold 64-CPU point
// for warm (0.027 of the peak, CI).
const OVERSUB_WINDOWS = q ? { windowMs: 150, calmMs: null, warmCapMs: 600 } : { windowMs: 2000, calmMs: 6000, warmCapMs: 120_000, trials: 9 };

const benches: [Group, string, () => Row | Row[] | Promise<Row | Row[]>][] = [
  ['tlb', 'TLB hit', () => benchTlbHit(q)],
  ['tlb', 'TLB miss', () => benchTlbMiss(q)],
  ['alloc', 'order-0 alloc+free', () => benchAlloc(q)],
  ['points', 'interleaving points off', () => benchPointsCost(q)],
  ['ipi', 'IPI round trip', () => measureIpiRoundTrip({ quick: q })],
  ['shootdown', 'shootdown latency curve', () => benchShootdownCurve(CURVE, q ? 120 : 600)],
  ['oversub', 'tlb-flush2 processes', () => benchOversubscription({
    // numaPercent 0: the curve stays the one measured since issue 13 began
    // (NUMA hinting and migration came later and cost a fifth of the ops).
    name: 'tlb-flush2 mode=processes', scenario: 'tlb-flush2', options: { mode: 'processes', numaPercent: 0 },
    counter: 'ops', unit: 'ops/s', points: OVERSUB, ...OVERSUB_WINDOWS,
  })],
  ['oversub', 'tlb-flush2-shared IPIs', () => benchOversubscription({
    name: 'tlb-flush2-shared IPIs handled', scenario: 'tlb-flush2-shared', options: {},
    counter: 'ipisReceived', unit: 'IPIs/s', points: [...new Set(OVERSUB_IPI)], ...OVERSUB_WINDOWS,
  })],
  ['startup', 'start-up 64 CPUs 16 GiB', () => benchStartup(64, 16 * 2 ** 30)],
  ['sab', 'SAB per frame', () => benchSabPerFrame()],
];

const rows: Row[] = [];
const broken: string[] = [];
const t0 = performance.now();
for (const [group, label, run] of benches) {
  if (!args.only.has(group)) continue;
  process.stderr.write(`running ${label}${q ? ' (quick)' : ''}...\n`);
  const started = performance.now();
  try {
    const r = await run();
    rows.push(...(Array.isArray(r) ? r : [r]));
    process.stderr.write(`  ${label}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (e) {
    // One broken bench must not hide the others' rows; the exit code says it.
    broken.push(`${label}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
console.log(formatTable(rows));
console.log(`\n${rows.filter((r) => r.pass === false).length} of ${rows.filter((r) => r.pass !== null).length} targets missed; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (args.json !== null) writeFileSync(args.json, `${JSON.stringify(rows, null, 2)}\n`);
for (const b of broken) process.stderr.write(`bench: FAILED ${b}\n`);
if (broken.length > 0) process.exitCode = 3;
