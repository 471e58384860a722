// cow-storm on 4 worker CPUs (from dist/): clean under every ASI variant
// (the children and parents check every page they read back), and the
// copy-on-write copies go where the variant says: the direct map (page
// fault exits) under asi-on, the ephmap with a fallback per copy at K = 1
// and none at K = 2, the mermap's window.
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';
import { expectCaught } from '../tlb/bug-detection.js';

type Totals = Record<string, number>;

async function run(variant: string, extra: Record<string, number> = {}): Promise<Totals> {
  const { runFree } = await loadEngine();
  const r = await runFree({ scenario: 'cow-storm', cpus: 4, ops: 400, seed: 5, options: { variant, ...extra } });
  expect(r.fault).toBeNull();
  expect(r.violationRecords).toEqual([]);
  expect(r.violations).toBe(0);
  expect(r.endCheck).toEqual({ violations: [], framesLost: 0 });
  return r.totals as unknown as Totals;
}

describe('cow-storm', () => {
  it('asi-off: clean, copies without any ASI transition', async () => {
    const t = await run('asi-off');
    expect(t['pageCopies']).toBeGreaterThan(100);
    expect(t['asiExits']).toBe(0);
  }, 60_000);

  it('asi-on: copy-on-write through the direct map exits with PAGE_FAULT', async () => {
    const t = await run('asi-on');
    expect(t['asiExitsPageFault']).toBeGreaterThan(0);
  }, 60_000);

  it('asi-on+ephmap: K = 1 falls back once per copy (the destination); K = 2 maps both and never exits for a copy', async () => {
    const k1 = await run('asi-on+ephmap');
    expect(k1['ephmapFallbacks']).toBe(k1['pageCopies']);
    expect(k1['asiExitsPageFault']).toBeGreaterThan(0);
    const k2 = await run('asi-on+ephmap', { slots: 2 });
    expect(k2['ephmapFallbacks']).toBe(0);
    expect(k2['ephmapMaps']).toBe(2 * k2['pageCopies']!);
    expect(k2['asiExitsPageFault']).toBe(0);
  }, 90_000);

  it('asi-on+mermap: both pages mapped in the window, no page-fault exit', async () => {
    const t = await run('asi-on+mermap');
    expect(t['ephmapMaps']).toBeGreaterThan(0);
    expect(t['asiExitsPageFault']).toBe(0);
  }, 60_000);

  it('no-mitigation-flush-on-cow (asi-on+mermap) is caught: a window still translates a frame the fork\'s other side freed', async () => {
    await expectCaught('no-mitigation-flush-on-cow');
  }, 120_000);
});
