import { describe, expect, it } from 'vitest';
import { expectCleanRun } from '../engine/clean-run.js';

// The file-backed will-it-scale scenarios, without injected bugs, on 4
// CPUs: no violation, a clean end-of-run check (page-cache pages count as
// reachable), no lost frame, and real remote shootdowns.
describe.each(['tlb-flush1', 'tlb-flush3'] as const)('%s without injected bugs', (scenario) => {
  it('reports no violation, a clean end-of-run check and no lost frame after real shootdowns', async () => {
    const s = await expectCleanRun({ scenario });
    expect(s['madvises']).toBeGreaterThan(10);
    expect(s['writes']).toBeGreaterThan(100);
  });

  it('runs clean in processes mode too', async () => {
    await expectCleanRun({ scenario, seconds: 1, seed: 2, options: { mode: 'processes' }, minRemoteFlushes: -1 });
  });
});
