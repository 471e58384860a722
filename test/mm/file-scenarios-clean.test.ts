import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';

// The file-backed will-it-scale scenarios, without injected bugs, on 4
// CPUs (follows test/tlb/scenarios-clean.test.ts): no violation, a clean
// end-of-run check (page-cache pages count as reachable), no lost frame,
// and real remote shootdowns.
type Stats = Record<string, number>;

describe.each(['tlb-flush1', 'tlb-flush3'] as const)('%s without injected bugs', (scenario) => {
  it('reports no violation, a clean end-of-run check and no lost frame after real shootdowns', async () => {
    const { runFree } = await loadEngine();
    const r = await runFree({ scenario, cpus: 4, seconds: 2, seed: 1 });
    expect(r.stoppedBy).toBe('time');
    expect(r.violationRecords).toEqual([]);
    expect(r.violations).toBe(0);
    expect(r.endCheck).toEqual({ violations: [], framesLost: 0 });
    expect(r.framesLost).toBe(0);
    expect(r.totals.flushesRemote).toBeGreaterThan(50);
    expect(r.totals.ipisReceived).toBe(r.totals.ipisSent);
    const s: Stats = {};
    for (const c of r.perCpu) for (const [k, v] of Object.entries(c.summary as Stats)) s[k] = (s[k] ?? 0) + v;
    expect(s['oom']).toBe(0);
    expect(s['segv']).toBe(0);
    expect(s['madvises']).toBeGreaterThan(10);
    expect(s['writes']).toBeGreaterThan(100);
  });

  it('runs clean in processes mode too', async () => {
    const { runFree } = await loadEngine();
    const r = await runFree({ scenario, cpus: 4, seconds: 1, seed: 2, options: { mode: 'processes' } });
    expect(r.violations).toBe(0);
    expect(r.endCheck).toEqual({ violations: [], framesLost: 0 });
  });
});
