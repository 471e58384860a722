// flip-storm on 4 worker CPUs: clean without injection (flips both ways,
// real remote shootdowns, an empty end check), and the short form of the
// detection runs of the flip layer's bugs (the catalogue's scenario, 3 s
// per seed, until caught; the README has the 10-seed rates).
import { describe, expect, it } from 'vitest';
import { BUG_CATALOG } from '../../src/check/bugs.js';
import { expectCleanRun } from '../engine/clean-run.js';
import { expectCaught } from '../tlb/bug-detection.js';

describe('flip-storm', () => {
  it('runs clean: sensitivity flips both ways, remote shootdowns, no violation, empty end check', async () => {
    const s = await expectCleanRun({ scenario: 'flip-storm', seconds: 3, minRemoteFlushes: 10 });
    expect(s['flipsToNonsensitive']).toBeGreaterThan(10);
    expect(s['flipsToSensitive']).toBeGreaterThan(10);
    expect(s['allocNonsensitive']).toBeGreaterThan(0);
    expect(s['allocSensitive']).toBeGreaterThan(0);
    expect(s['cacheReads']).toBeGreaterThan(0);
  });

  // The flip layer's own; the deadlock-class bugs on flip-storm are test/asi/deadlock-bugs.test.ts's.
  const bugs = BUG_CATALOG.filter((b) => b.scenario === 'flip-storm' && b.layer === 'asi').map((b) => b.name);
  it('catalogues the eight flip-layer bugs with flip-storm', () => {
    expect(bugs.sort()).toEqual([
      'asi-unmap-no-global-flush', 'flag-before-flush', 'merge-across-sensitivity', 'no-zero-on-map',
      'pindex-drops-sensitivity', 'remainder-wrong-freetype', 'subblock-cross-sensitivity-fallback', 'zero-after-map',
    ]);
  });

  it.each(['flag-before-flush', 'asi-unmap-no-global-flush', 'zero-after-map'])('catches %s under concurrency', async (bug) => {
    await expectCaught(bug);
  });
});
