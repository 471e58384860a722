import { describe, expect, it } from 'vitest';
import { loadEngine, testProgram } from '../engine/helpers.js';

const OPS = 3000;

describe('two CPUs calling each other with wait', () => {
  it('both finish: each acks the other from inside its own wait loop', async () => {
    const { runFree } = await loadEngine();
    const r = await runFree({ scenario: 'mutual-wait', programModule: testProgram('engine-mutual.mjs'), cpus: 2, ops: OPS, watchdogMs: 5000 });
    expect(r.stoppedBy).toBe('ops');
    for (const c of r.perCpu) {
      expect(c.ops).toBe(OPS);
      expect(c.summary).toEqual({ calls: OPS, ran: OPS });
    }
    expect(r.totals.ipisSent).toBe(2 * OPS);
    expect(r.totals.ipisReceived).toBe(2 * OPS);
  });
});
