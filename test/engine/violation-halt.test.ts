// A CPU that halts the machine on a violation it cannot run past
// (src/check/halt.ts) ends the run as a stop, not a fault: stoppedBy
// 'halt', the violation recorded, the other CPUs unwound from their waits.
// The kernel side (the access that faults for ever) is
// test/mm/user-fault-loop.test.ts.
import { describe, expect, it } from 'vitest';
import { loadEngine, testProgram } from './helpers.js';

describe('a violation halt inside a CPU', () => {
  it('stops the run with the violation and no fault, the other CPUs unwound from their calls', async () => {
    const { runFree } = await loadEngine();
    const t0 = Date.now();
    const r = await runFree({
      scenario: 'halt', programModule: testProgram('engine-halt.mjs'), cpus: 3, seconds: 60,
      options: { haltCpu: 1, haltOp: 300 }, onFault: 'return',
    });
    expect(r.fault).toBeNull();
    expect(r.stoppedBy).toBe('halt');
    expect(r.lockdep).toBeNull();
    expect(r.violations).toBe(1);
    expect(r.violationRecords[0]).toMatchObject({ kindName: 'user-fault-loop', cpu: 1, fillGen: 64, frameGen: 1 });
    expect(r.endCheck).toBeNull();
    expect(r.perCpu.every((c) => c.stopped)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(50_000); // the run asked for 60 s
  }, 60_000);
});
