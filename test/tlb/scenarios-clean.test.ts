import { describe, expect, it } from 'vitest';
import { expectCleanRun } from '../engine/clean-run.js';

// Every anonymous-memory mm scenario, without injected bugs, on 4 CPUs: the
// inline oracle sees nothing, the end-of-run check is clean, no frame is
// lost, and the shootdown machinery really ran.
const SCENARIOS = ['tlb-flush2', 'tlb-flush2-shared', 'tlb-flush2-mixed', 'munmap-storm', 'fork-cow'] as const;

describe.each(SCENARIOS)('%s without injected bugs', (scenario) => {
  it('reports no violation, a clean end-of-run check and no lost frame after real shootdowns', async () => {
    const s = await expectCleanRun({ scenario });
    expect(s['switches']).toBeGreaterThan(0);
    expect(s['kthreadSteps']).toBeGreaterThan(0);
    if (scenario === 'munmap-storm') expect(s['expectedSegv']).toBeGreaterThan(0);
    if (scenario === 'fork-cow') expect(s['exits']).toBeGreaterThan(0);
  });

  it('runs clean in processes mode too (single-threaded processes)', async () => {
    const s = await expectCleanRun({ scenario, seconds: 1, seed: 2, options: { mode: 'processes' }, minRemoteFlushes: -1 });
    if (scenario === 'fork-cow') expect(s['forks']).toBeGreaterThan(0);
  });
});
