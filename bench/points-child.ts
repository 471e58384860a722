// One side of a points-cost trial (bench/points-cost.ts), in a process of
// its own: imports the bundle named on the command line, warms the subject
// up, times it `trials` times in process CPU time and prints the median
// rate as JSON ({ rate, misses }).
//
//   node dist/bench/points-child.js BUNDLE hit|alloc ITERATIONS TRIALS

import { pathToFileURL } from 'node:url';
import { median, rate } from './harness.js';

type Subjects = typeof import('./points-subjects.js');

const [bundle, which, itersArg, trialsArg] = process.argv.slice(2);
const iterations = Number(itersArg);
const trials = Number(trialsArg);
if (bundle === undefined || (which !== 'hit' && which !== 'alloc') || !(iterations > 0) || !(trials > 0)) {
  process.stderr.write('usage: points-child BUNDLE hit|alloc ITERATIONS TRIALS\n');
  process.exit(2);
}
const m = (await import(pathToFileURL(bundle).href)) as Subjects;
let sink = 0;
let misses = 0;
let run: () => void;
let after: () => void = () => {};
if (which === 'hit') {
  const h = m.makeTlbHitLoop(iterations);
  run = () => { sink ^= h.run(); };
  after = () => { misses = h.misses() - h.vpns.length; };
} else {
  const a = m.makeAllocLoop(iterations, 32);
  run = () => { sink += a.run(); };
}
// Warm-up: the optimising tier settles before anything is timed.
for (let i = 0; i < 3; i++) run();
const rates: number[] = [];
for (let i = 0; i < trials; i++) rates.push(rate(run, iterations));
after();
process.stdout.write(`${JSON.stringify({ rate: median(rates), misses, sink: sink === 0.5 ? 1 : 0 })}\n`);
