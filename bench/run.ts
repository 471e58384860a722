// `npm run bench [-- --quick] [-- --format json]`: every benchmark next to
// its raw baseline, measured in this run.

import { benchAlloc } from './alloc.js';
import { benchTlbHit } from './tlb.js';
import { measureIpiRoundTrip } from './ipi.js';
import type { Measured } from './harness.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const json = args.includes('--format') && args[args.indexOf('--format') + 1] === 'json';

const results: Measured[] = [];
const benches: [string, () => Measured | Promise<Measured>][] = [
  ['order-0 alloc+free', () => benchAlloc(quick)],
  ['TLB-hit translate', () => benchTlbHit(quick)],
  ['IPI round trip (two CPU workers)', () => measureIpiRoundTrip({ quick })],
];
for (const [name, run] of benches) {
  if (!json) process.stderr.write(`running ${name}${quick ? ' (quick)' : ''}...\n`);
  results.push(await run());
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
if (json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  console.log('| benchmark | subject | baseline | ratio (subject / baseline) |');
  console.log('|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.name} | ${fmt(r.subjectPerSec)} ${r.unit} | ${r.baselineName}: ${fmt(r.baselinePerSec)} ${r.unit} | ${r.ratio.toFixed(3)} (1/${(1 / r.ratio).toFixed(1)}) |`);
  }
}
