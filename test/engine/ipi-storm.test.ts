import { describe, expect, it } from 'vitest';
import { loadEngine } from './helpers.js';

interface StormSummary {
  calls: number;
  remoteCalls: number;
  localRuns: number;
  remoteRuns: number;
  ranFrom: number[];
  irqOffStretches: number;
  ranWhileIrqsOff: number;
  singleCalls: number;
  manyCalls: number;
  condMaskCalls: number;
}

describe('an ipi-storm run on 4 CPUs', () => {
  it('ends with every queued IPI received exactly once, none taken with interrupts off', async () => {
    const { runFree } = await loadEngine();
    const r = await runFree({ scenario: 'ipi-storm', cpus: 4, seconds: 2, seed: 42 });
    expect(r.stoppedBy).toBe('time');
    expect(r.totals.ipisSent).toBeGreaterThan(1000);
    expect(r.totals.ipisReceived).toBe(r.totals.ipisSent);
    const s = r.perCpu.map((c) => c.summary as unknown as StormSummary);
    const local = s.reduce((n, x) => n + x.localRuns, 0);
    expect(r.totals.ipiFuncRuns).toBe(r.totals.ipisReceived + local);
    for (const [cpu, x] of s.entries()) {
      expect(x.ranWhileIrqsOff).toBe(0);
      expect(x.irqOffStretches).toBeGreaterThan(0);
      // Every entry point is taken, and every call went through one of them.
      expect(Math.min(x.singleCalls, x.manyCalls, x.condMaskCalls)).toBeGreaterThan(0);
      expect(x.singleCalls + x.manyCalls + x.condMaskCalls).toBe(x.calls);
      expect(x.remoteCalls).toBe(r.perCpu[cpu]!.counters.ipisSent);
      // What each CPU sent is what the others ran from it.
      expect(s.reduce((n, y) => n + y.ranFrom[cpu]!, 0)).toBe(x.remoteCalls);
    }
    expect(r.opsPerSec).toBeGreaterThan(0);
    expect(r.durationMs).toBeGreaterThan(1900);
  });
});
