import { describe, expect, it } from 'vitest';
import { loadEngine } from './helpers.js';

const BOUND = 500;

describe('the watchdog', () => {
  it('stops a run whose CPU never acks an IPI, with every CPU\'s state, within the bound', async () => {
    const { runFree, WatchdogError } = await loadEngine();
    const t0 = Date.now();
    const err = await runFree({
      scenario: 'ipi-storm', cpus: 3, seconds: 60, seed: 3, watchdogMs: BOUND, testFaults: { neverAckCpu: 1 },
    }).then(() => null, (e: unknown) => e);
    const wall = Date.now() - t0;
    expect(err).toBeInstanceOf(WatchdogError);
    const w = err as InstanceType<typeof WatchdogError>;
    expect(w.cpu).not.toBe(1);
    expect(w.waitingFor).toContain(1);
    expect(w.waitedMs).toBeGreaterThan(BOUND);
    // The watchdog ticks every 50 ms; a loaded host delays ticks, not the verdict.
    expect(w.waitedMs).toBeLessThan(BOUND + 3000);
    expect(w.message).toMatch(/waited \d+ ms for IPI acks from CPU\(s\) 1/);
    expect(w.dump.map((d) => d.cpu)).toEqual([0, 1, 2]);
    expect(w.dump[w.cpu]!.waitingForCpu).toBe(1);
    expect(w.dump[w.cpu]!.lockedCsds.map((l) => l.target)).toContain(1);
    // From the start barrier to the stop: the bound plus a tick, plus slack
    // for a loaded machine; start-up of the workers comes on top.
    const result = w.result as { durationMs: number; stoppedBy: string };
    expect(result.stoppedBy).toBe('watchdog');
    expect(result.durationMs).toBeLessThan(BOUND + 5000);
    // Far below the 60 s the run asked for.
    expect(wall).toBeLessThan(45_000);
  });
});
