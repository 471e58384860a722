import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';

// Every mm scenario, without injected bugs, on 4 CPUs: the inline oracle
// sees nothing, the end-of-run check is clean, no frame is lost, and the
// shootdown machinery really ran.
const SCENARIOS = ['tlb-flush2', 'tlb-flush2-shared', 'tlb-flush2-mixed', 'munmap-storm', 'fork-cow'] as const;

type Stats = Record<string, number>;

describe.each(SCENARIOS)('%s without injected bugs', (scenario) => {
  it('reports no violation, a clean end-of-run check and no lost frame after real shootdowns', async () => {
    const { runFree } = await loadEngine();
    const r = await runFree({ scenario, cpus: 4, seconds: 2, seed: 1 });
    expect(r.stoppedBy).toBe('time');
    expect(r.violationRecords).toEqual([]);
    expect(r.violations).toBe(0);
    expect(r.endCheck).toEqual({ violations: [], framesLost: 0 });
    expect(r.framesLost).toBe(0);
    expect(r.totals.ipisSent).toBeGreaterThan(50);
    expect(r.totals.ipisReceived).toBe(r.totals.ipisSent);
    expect(r.totals.flushesRemote).toBeGreaterThan(50);
    const s: Stats = {};
    for (const c of r.perCpu) for (const [k, v] of Object.entries(c.summary as Stats)) s[k] = (s[k] ?? 0) + v;
    expect(s['oom']).toBe(0);
    expect(s['segv']).toBe(0);
    expect(s['switches']).toBeGreaterThan(0);
    expect(s['kthreadSteps']).toBeGreaterThan(0);
    if (scenario === 'munmap-storm') expect(s['expectedSegv']).toBeGreaterThan(0);
    if (scenario === 'fork-cow') expect(s['exits']).toBeGreaterThan(0);
  });
});
