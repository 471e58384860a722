// Shared by the bug-detection test files: run a bug's catalogued scenario
// on 4 CPUs with the bug injected, a few seconds per seed, until a
// violation shows (inline oracle or end-of-run check).
import { expect } from 'vitest';
import { BUG_CATALOG } from '../../src/check/bugs.js';
import { loadEngine } from '../engine/helpers.js';

export const SECONDS = 3;
export const SEEDS = [1, 2, 3, 4];
/**
 * A miss counts only after this much work: on a loaded machine a 3 s run
 * may do a tenth of its usual ops, and a detection test must not turn red
 * because the host was busy. Further seeds are tried (up to MAX_SEEDS)
 * until the runs together did at least this many ops.
 */
export const MIN_OPS = 6000;
export const MAX_SEEDS = 16;

/** Seeds to try: SEEDS, then more while the work done is under minOps. */
export function* detectionSeeds(opsSoFar: () => number, minOps = MIN_OPS): Generator<number> {
  for (let seed = 1; seed <= MAX_SEEDS; seed++) {
    if (seed > SEEDS.length && opsSoFar() >= minOps) return;
    yield seed;
  }
}

/** The TLB-layer bugs a scenario catches, by scenario family. */
export function wiredTlbBugs(scenarios: readonly string[]): string[] {
  return BUG_CATALOG.filter((b) => b.layer === 'tlb' && scenarios.includes(b.scenario)).map((b) => b.name);
}

export async function expectCaught(bug: string): Promise<void> {
  const { runFree } = await loadEngine();
  const spec = BUG_CATALOG.find((b) => b.name === bug)!;
  const tried: string[] = [];
  // The catalogue's --variant (as the CLI passes it: a scenario option).
  const v = spec.args.indexOf('--variant');
  const options: Record<string, string | number> = v >= 0 ? { variant: spec.args[v + 1]! } : {};
  // ... and its --option key=value pairs (numbers as numbers, as the CLI parses them).
  spec.args.forEach((a, i) => {
    if (a !== '--option') return;
    const [key, value] = spec.args[i + 1]!.split('=') as [string, string];
    options[key] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  });
  let ops = 0;
  for (const seed of detectionSeeds(() => ops)) {
    const r = await runFree({ scenario: spec.scenario, cpus: 4, seconds: SECONDS, seed, inject: [bug], onFault: 'return', options });
    ops += r.ops;
    expect(r.fault).toBeNull();
    const found = r.violations + (r.endCheck?.violations.length ?? 0);
    if (found > 0) return;
    tried.push(`seed ${seed}: ${r.ops} ops`);
  }
  expect.fail(`${bug} on ${spec.scenario} was not caught (${tried.join('; ')})`);
}
