import { describe, expect, it } from 'vitest';
import { loadEngine } from './helpers.js';

describe('runFree options', () => {
  it('are refused with one line naming the bad value, before any worker starts', async () => {
    const { runFree, EngineConfigError } = await loadEngine();
    await expect(runFree({ scenario: 'ipi-storm', cpus: 0, ops: 1 })).rejects.toThrow(EngineConfigError);
    await expect(runFree({ scenario: 'ipi-storm', cpus: 65, ops: 1 })).rejects.toThrow(/cpus 65 is invalid: use 1\.\.64/);
    await expect(runFree({ scenario: 'ipi-storm', cpus: 2 })).rejects.toThrow(/give ops/);
    await expect(runFree({ scenario: 'ipi-storm', cpus: 2, seconds: -1 })).rejects.toThrow(/seconds -1 is invalid/);
    await expect(runFree({ scenario: 'ipi-storm', cpus: 2, ops: 1, testFaults: { neverAckCpu: 2 } })).rejects.toThrow(/neverAckCpu 2/);
    await expect(runFree({ scenario: 'no-such', cpus: 2, ops: 1 })).rejects.toThrow(/unknown scenario "no-such": use one of ipi-storm/);
    await expect(runFree({ scenario: 'ipi-storm', cpus: 2, ops: 1, inject: ['no-such-bug'] })).rejects.toThrow(/unknown bug/);
  });

  it('run a small op budget to completion on a single CPU', async () => {
    const { runFree } = await loadEngine();
    const r = await runFree({ scenario: 'ipi-storm', cpus: 1, ops: 200 });
    expect(r.stoppedBy).toBe('ops');
    expect(r.ops).toBe(200);
    expect(r.totals.ipisSent).toBe(0);
  });
});
