// fio-randread with an ephemeral map (issue 7 "Done means"): the copy of
// every read goes through this CPU's ephmap slot or mermap window of the
// mm, mirrored into the nonsensitive PGD, so reads no longer exit ASI:
// at most 0.1 exits per op, no PAGE_FAULT exit while the map serves, and
// the per-reason counters add up. Runs from dist/ (npm run build first).
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';

type Totals = Record<string, number>;
const REASONS = ['asiExitsPageFault', 'asiExitsUserRet', 'asiExitsContextSwitch', 'asiExitsTlbFlush', 'asiExitsMisc'];

async function run(variant: string, seed = 1): Promise<Totals> {
  const { runFree } = await loadEngine();
  const r = await runFree({ scenario: 'fio-randread', cpus: 4, seconds: 3, seed, options: { variant } });
  expect(r.stoppedBy).toBe('time');
  expect(r.violationRecords).toEqual([]);
  expect(r.endCheck).toEqual({ violations: [], framesLost: 0 });
  return r.totals as unknown as Totals;
}

describe.each(['asi-on+ephmap', 'asi-on+mermap'])('fio-randread --variant %s', (variant) => {
  it('maps every read ephemerally and exits at most 0.1 times per read', async () => {
    const t = await run(variant);
    expect(t['ops']).toBeGreaterThan(100);
    expect(t['ephmapMaps']).toBeGreaterThanOrEqual(t['ops']! * 0.9);
    expect(t['asiExits']! / t['ops']!).toBeLessThanOrEqual(0.1);
    expect(t['asiExitsPageFault']! / t['ops']!).toBeLessThanOrEqual(0.05);
    expect(REASONS.reduce((n, r) => n + t[r]!, 0)).toBe(t['asiExits']);
    expect(t['ipisSent']).toBeGreaterThan(0);
  }, 60_000);
});

describe('fio-randread --variant asi-on+mermap', () => {
  it('wraps its windows with one local flush each and never shoots down for them', async () => {
    const t = await run('asi-on+mermap', 2);
    expect(t['mermapWraps']).toBeGreaterThan(0);
    // Each wrap serves the window's 15 allocatable pages at most.
    expect(t['mermapWraps']! * 15).toBeGreaterThanOrEqual(t['ephmapMaps']! - t['ephmapFallbacks']! - 4 * 15);
  }, 60_000);
});
