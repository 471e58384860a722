// Combined-path scenarios (issue 11): shared-file-writeback and
// madvise-race are in soak's default set, run clean, and madvise-race
// catches the real fix reverted on its path with its default options, on
// seeds that were not used to tune it (from 500). (zap-dirty-flush-after-
// unlock is caught by shared-file-writeback: test/tlb/bugs-shared-file.test.ts.)
// shared-file-writeback also catches the reverted retraction lock
// (8d3c106e19e8) through the software-walk check, with the catalogue's
// options: a 4-page file, so a table empties often, and khugepaged on
// every kernel-thread step.
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/workloads/index.js';
import { loadEngine } from '../engine/helpers.js';
import { catalogueOptions, caughtFromSeed500, found, reachRun } from './catalogue.js';

const SECONDS = 3;
const MIN_OPS = 40_000;
const MAX_SEEDS = 10;

async function run(scenario: string, seed: number, inject: string[] = [], options: Record<string, string | number> = {}) {
  const { runFree } = await loadEngine();
  return runFree({ scenario, cpus: 4, seconds: SECONDS, seed, inject, onFault: 'return', options });
}

describe('combined-path scenarios', () => {
  it('are in the default soak set (soak without --scenarios runs every registered scenario)', () => {
    const names = SCENARIOS.map((s) => s.name);
    expect(names).toContain('shared-file-writeback');
    expect(names).toContain('madvise-race');
  });

  it.each(['shared-file-writeback', 'madvise-race'])('%s runs clean on 4 CPUs', async (scenario) => {
    const r = await run(scenario, 1);
    expect(r.fault).toBeNull();
    expect(r.ops).toBeGreaterThan(100);
    expect(r.violations + (r.endCheck?.violations.length ?? 0)).toBe(0);
  }, 60_000);

  // On an idle 2-core host a 5 s run catches it on 10 of 10 seeds
  // (README); a loaded host does a fraction of the ops, so
  // a miss counts only once the runs together did MIN_OPS.
  it.each([
    ['nested-flush-drops-freed-tables', 'madvise-race'],
  ] as const)('%s (reverted fix) is caught by %s with its default options', async (bug, scenario) => {
    const tried: string[] = [];
    let ops = 0;
    for (let seed = 500; seed < 500 + MAX_SEEDS && (seed < 504 || ops < MIN_OPS); seed++) {
      const r = await run(scenario, seed, [bug]);
      expect(r.fault).toBeNull();
      if (r.violations + (r.endCheck?.violations.length ?? 0) > 0) return;
      ops += r.ops;
      tried.push(`seed ${seed}: ${r.ops} ops`);
    }
    expect.fail(`${bug} not caught by ${scenario}: ${tried.join('; ')}`);
  }, 180_000);

  it('retract-no-pte-lock (reverted fix) is caught by shared-file-writeback with the catalogue\'s options, as a walk in a retracted table', async () => {
    const bug = 'retract-no-pte-lock';
    const options = catalogueOptions(bug);
    const clean = await reachRun('shared-file-writeback', 500, options);
    expect(clean.fault).toBeNull();
    expect(found(clean)).toBe(0);
    const r = await caughtFromSeed500('shared-file-writeback', bug, options);
    // The walker finds its table freed, or no longer linked where it found it.
    expect(['sw-walk-freed-table', 'sw-walk-moved-table']).toContain(r.violationRecords[0]!.kindName);
  }, 180_000);
});
