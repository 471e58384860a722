// `npm run bench [-- --quick] [-- --format json]`: every benchmark next to
// its raw baseline, measured in this run.

import { parseArgs } from 'node:util';
import { benchAlloc } from './alloc.js';
import { benchTlbHit } from './tlb.js';
import { measureIpiRoundTrip } from './ipi.js';
import type { Measured } from './harness.js';

// Arguments are checked before anything runs (issue 12: --help and a typo
// used to run the whole benchmark and exit 0).
const USAGE = 'usage: node dist/bench/run.js [--quick] [--format table|json] [--help]';
let parsed: { quick?: boolean; format?: string; help?: boolean };
try {
  parsed = parseArgs({ options: { quick: { type: 'boolean' }, format: { type: 'string' }, help: { type: 'boolean' } }, strict: true }).values;
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message.split('\n')[0]} (${USAGE})\n`);
  process.exit(2);
}
if (parsed.help) {
  process.stdout.write(`${USAGE}\n  --quick   the short form CI runs\n  --format  table (default) or json\n`);
  process.exit(0);
}
if (parsed.format !== undefined && parsed.format !== 'table' && parsed.format !== 'json') {
  process.stderr.write(`bench: --format "${parsed.format.slice(0, 60)}" is not one of: table, json\n`);
  process.exit(2);
}
const quick = parsed.quick === true;
const json = parsed.format === 'json';

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
