import { describe, expect, it } from 'vitest';
import { expectCleanRun } from '../engine/clean-run.js';

// The scenario that catches switch-mm-no-fence, without injected bugs: every
// switch_mm keeps its fence, so the store buffer never reorders anything and
// the run is clean.
describe('tlb-flush2-shared-mixed without injected bugs', () => {
  it('reports no violation, a clean end-of-run check and no lost frame after real shootdowns', async () => {
    const s = await expectCleanRun({ scenario: 'tlb-flush2-shared-mixed' });
    expect(s['switches']).toBeGreaterThan(100);
    expect(s['madvises']).toBeGreaterThan(0);
  });
});
