import { describe, expect, it } from 'vitest';
import { expectCleanRun } from '../engine/clean-run.js';

// fixmap-switch without injected bugs, with and without PTI: the slot reads
// back what its CPU put there, no stale entry survives, no frame is lost.
describe.each([1, 0])('fixmap-switch with pti=%i', (pti) => {
  it('reads every slot back, with a clean end-of-run check and no lost frame', async () => {
    const s = await expectCleanRun({ scenario: 'fixmap-switch', options: { pti }, minRemoteFlushes: -1 });
    expect(s['slotRemaps']).toBeGreaterThan(100);
    expect(s['slotReads']).toBeGreaterThan(s['slotRemaps']!);
    expect(s['switches']).toBeGreaterThan(100);
  });
});
