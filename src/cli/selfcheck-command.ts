// `shootdown selfcheck`: what `npm start` runs.

import { runSelfcheckOn, type SelfcheckResult } from '../check/selfcheck.js';
import { CheckFailedError } from './errors.js';
import { FORMATS, formatBytes, renderTable } from './format.js';
import { assertHostCanHold, shapeFromOptions } from './machine-options.js';
import { parseChoice, parseIntInRange } from './parse.js';

export interface SelfcheckOptions {
  mem: string;
  ops: string;
  seed: string;
  format: string;
}

/** Violations the selfcheck causes on purpose: the oracle check's stale TLB hit on a freed frame. */
const DELIBERATE_VIOLATIONS = 1;

/**
 * The violations counter counts the oracle check's deliberate stale hit
 * too: say so, so that "violations 1" above "all checks passed" reads as
 * the proof that the oracle works, not as a failure.
 */
function counterLabel(name: string, value: number, r: SelfcheckResult): string {
  if (name !== 'violations') return name;
  const oracleOk = r.steps.some((s) => /oracle catches/.test(s.name) && s.ok);
  if (!oracleOk) return name;
  return value === DELIBERATE_VIOLATIONS
    ? 'violations (deliberate: the oracle check)'
    : `violations (${DELIBERATE_VIOLATIONS} deliberate, ${value - DELIBERATE_VIOLATIONS} not)`;
}

function render(r: SelfcheckResult): string {
  const lines = [
    `shootdown selfcheck: ${formatBytes(r.memBytes)} machine (${r.frames.toLocaleString('en-US')} frames), one CPU for translation, ${r.ops.toLocaleString('en-US')} allocator ops (seed ${r.seed})`,
    '',
    ...r.steps.map((s) => `${s.skipped ? 'skip' : s.ok ? 'ok  ' : 'FAIL'}  ${s.name}: ${s.detail}`),
    '',
    renderTable(['counter', 'count'], Object.entries(r.counters).filter(([, v]) => v > 0).map(([k, v]) => [counterLabel(k, v, r), v])),
    '',
    `${r.steps.filter((s) => s.ok && !s.skipped).length} of ${r.steps.filter((s) => !s.skipped).length} checks passed in ${r.seconds.toFixed(2)} s`,
  ];
  return lines.join('\n');
}

export function runSelfcheck(opts: SelfcheckOptions, print: (t: string) => void): void {
  const format = parseChoice('--format', opts.format, FORMATS);
  const ops = parseIntInRange('--ops', opts.ops, 0, 100_000_000);
  const seed = parseIntInRange('--seed', opts.seed, 0, 2 ** 32 - 1);
  const shape = shapeFromOptions({ mem: opts.mem }, { cpus: 4 });
  assertHostCanHold(shape);
  const result = runSelfcheckOn(shape, ops, seed);
  print(format === 'json' ? JSON.stringify(result, null, 2) : render(result));
  if (!result.ok) throw new CheckFailedError(`selfcheck: ${result.steps.filter((s) => !s.ok).map((s) => s.name).join('; ')}`);
}
