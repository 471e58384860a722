// New machinery (issue 11): mremap moving whole PTE tables. The default soak
// set's mremap-truncate, with its default options, moves the area's table
// whole between its aligned places, runs clean, and catches the real fix
// reverted on that path (97113eb39fa7, CVE-2022-41222: the move without
// i_mmap) on seeds that were not used to tune it (from 500).
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/workloads/index.js';
import { loadEngine } from '../engine/helpers.js';

const SECONDS = 3;
const MIN_OPS = 40_000;
const MAX_SEEDS = 10;

async function run(seed: number, inject: string[] = []) {
  const { runFree } = await loadEngine();
  return runFree({ scenario: 'mremap-truncate', cpus: 4, seconds: SECONDS, seed, inject, onFault: 'return', options: {} });
}

describe('whole-table mremap moves in the default soak set', () => {
  it('mremap-truncate is in the default soak set (soak without --scenarios runs every registered scenario)', () => {
    expect(SCENARIOS.map((s) => s.name)).toContain('mremap-truncate');
  });

  it('runs clean on 4 CPUs while tables really move whole', async () => {
    const r = await run(500);
    expect(r.fault).toBeNull();
    expect(r.violations + (r.endCheck?.violations.length ?? 0)).toBe(0);
    const tableMoves = r.perCpu.reduce((n, c) => n + ((c.summary as Record<string, number>)['tableMoves'] ?? 0), 0);
    expect(tableMoves).toBeGreaterThan(0);
  }, 60_000);

  // The sweep (npm run sweep:detection) catches it on 10 of 10 seeds in 19 s
  // of runs on an idle 2-core host; a miss counts only once the runs
  // together did MIN_OPS.
  it('mremap-pmd-no-rmap-lock (reverted fix) is caught with the default options', async () => {
    const tried: string[] = [];
    let ops = 0;
    for (let seed = 500; seed < 500 + MAX_SEEDS && (seed < 504 || ops < MIN_OPS); seed++) {
      const r = await run(seed, ['mremap-pmd-no-rmap-lock']);
      expect(r.fault).toBeNull();
      if (r.violations + (r.endCheck?.violations.length ?? 0) > 0) return;
      ops += r.ops;
      tried.push(`seed ${seed}: ${r.ops} ops`);
    }
    expect.fail(`mremap-pmd-no-rmap-lock not caught by mremap-truncate: ${tried.join('; ')}`);
  }, 180_000);
});
