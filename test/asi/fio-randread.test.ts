// fio-randread on 4 worker CPUs: every read is checked by the scenario
// itself; here, what each design costs in ASI transitions. Runs from dist/
// (npm run build first), like the other engine tests.
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';

type Totals = Record<string, number>;

async function run(variant: string, mode: 'threads' | 'processes', seed = 1): Promise<{ totals: Totals; reads: number }> {
  const { runFree } = await loadEngine();
  const r = await runFree({ scenario: 'fio-randread', cpus: 4, seconds: 2, seed, options: { variant, mode } });
  expect(r.stoppedBy).toBe('time');
  expect(r.violationRecords).toEqual([]);
  expect(r.violations).toBe(0);
  expect(r.endCheck).toEqual({ violations: [], framesLost: 0 });
  let reads = 0;
  for (const c of r.perCpu) reads += (c.summary as Record<string, number>)['reads'] ?? 0;
  expect(reads).toBeGreaterThan(100);
  return { totals: r.totals as unknown as Totals, reads };
}

const REASONS = ['asiExitsPageFault', 'asiExitsUserRet', 'asiExitsContextSwitch', 'asiExitsTlbFlush', 'asiExitsMisc'];

describe('fio-randread', () => {
  it('asi-off: reads check out and nothing enters or exits ASI', async () => {
    for (const mode of ['threads', 'processes'] as const) {
      const { totals } = await run('asi-off', mode);
      expect(totals['asiEnters']).toBe(0);
      expect(totals['asiExits']).toBe(0);
      expect(totals['asiMitigations']).toBe(0);
    }
  }, 60_000);

  it('asi-on: every read exits (the copy faults on the sensitive page), at least 0.9 exits per op, reasons add up', async () => {
    for (const mode of ['threads', 'processes'] as const) {
      const { totals, reads } = await run('asi-on', mode);
      expect(totals['asiExits']! / totals['ops']!).toBeGreaterThanOrEqual(0.9);
      expect(totals['asiExitsPageFault']).toBeGreaterThanOrEqual(reads * 0.9);
      expect(REASONS.reduce((n, r) => n + totals[r]!, 0)).toBe(totals['asiExits']);
      expect(totals['asiEnters']).toBeGreaterThanOrEqual(totals['asiExits']! - 4);
      expect(totals['asiMitigations']).toBeGreaterThan(0);
    }
  }, 60_000);

  it('the NOFLUSH variant keeps the nonsensitive PCID across transitions; the posted one never does', async () => {
    const posted = (await run('asi-on', 'threads')).totals;
    const tracked = (await run('asi-on+noflush', 'threads')).totals;
    expect(posted['cr3NoflushWrites']! / posted['cr3Writes']!).toBeLessThan(0.05);
    expect(tracked['cr3NoflushWrites']! / tracked['cr3Writes']!).toBeGreaterThan(0.5);
  }, 60_000);
});
