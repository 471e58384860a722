// kernel-compile on 4 worker CPUs (from dist/): clean, and under ASI it
// exits for at least three reasons; exit-mm-change saves context-switch exits.
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';

type Totals = Record<string, number>;

async function run(variant: string, ops: number, seed: number, extra: Record<string, number> = {}): Promise<Totals> {
  const { runFree } = await loadEngine();
  const r = await runFree({ scenario: 'kernel-compile', cpus: 4, ops, seed, options: { variant, ...extra } });
  expect(r.violationRecords).toEqual([]);
  expect(r.violations).toBe(0);
  expect(r.endCheck).toEqual({ violations: [], framesLost: 0 });
  return r.totals as unknown as Totals;
}

describe('kernel-compile', () => {
  it('under asi-on exits for page faults, context switches and TLB flushes; the reasons add up', async () => {
    const t = await run('asi-on', 600, 3);
    for (const r of ['asiExitsPageFault', 'asiExitsContextSwitch', 'asiExitsTlbFlush']) expect(t[r]).toBeGreaterThan(0);
    const sum = ['asiExitsPageFault', 'asiExitsUserRet', 'asiExitsContextSwitch', 'asiExitsTlbFlush', 'asiExitsMisc']
      .reduce((n, r) => n + t[r]!, 0);
    expect(sum).toBe(t['asiExits']);
  }, 60_000);

  it('exit-mm-change has strictly fewer CONTEXT_SWITCH exits than exit-every-switch on the same seed and op budget', async () => {
    // Kernel threads wake often and each make has one child at a time, so a
    // CPU often comes back to the task it left: exit-every-switch pays for
    // that round trip, exit-mm-change does not.
    const busy = { kthreadPercent: 50, children: 1 };
    const every = await run('asi-on+exit-every-switch', 800, 3, busy);
    const mmChange = await run('asi-on+exit-mm-change', 800, 3, busy);
    expect(mmChange['asiExitsContextSwitch']).toBeLessThan(every['asiExitsContextSwitch']!);
  }, 60_000);

  it('under asi-on+ephmap (K = 1, as posted) exits for at least three reasons: copy-on-write needs a second slot and falls back to the direct map', async () => {
    const t = await run('asi-on+ephmap', 600, 3);
    const reasons = ['asiExitsPageFault', 'asiExitsUserRet', 'asiExitsContextSwitch', 'asiExitsTlbFlush', 'asiExitsMisc'];
    expect(reasons.filter((r) => t[r]! > 0).length).toBeGreaterThanOrEqual(3);
    expect(t['asiExitsPageFault']).toBeGreaterThan(0);
    expect(t['ephmapFallbacks']).toBeGreaterThan(0);
    expect(reasons.reduce((n, r) => n + t[r]!, 0)).toBe(t['asiExits']);
    // With K = 2 the copy maps source and destination: no page-fault exit is left.
    const k2 = await run('asi-on+ephmap', 600, 3, { slots: 2 });
    expect(k2['asiExitsPageFault']).toBe(0);
    expect(k2['ephmapFallbacks']).toBe(0);
  }, 90_000);

  it('under asi-on+ephmap too, exit-mm-change has strictly fewer CONTEXT_SWITCH exits than exit-every-switch', async () => {
    const busy = { kthreadPercent: 50, children: 1 };
    const every = await run('asi-on+ephmap+exit-every-switch', 800, 3, busy);
    const mmChange = await run('asi-on+ephmap+exit-mm-change', 800, 3, busy);
    expect(mmChange['asiExitsContextSwitch']).toBeLessThan(every['asiExitsContextSwitch']!);
  }, 90_000);
});
