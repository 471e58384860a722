import { describe, expect, it } from 'vitest';
import { loadEngine, testProgram } from './helpers.js';

describe('an exception inside a CPU', () => {
  it('rejects the run with CpuFaultError naming the CPU and op, and stops the other CPUs', async () => {
    const { runFree, CpuFaultError } = await loadEngine();
    const t0 = Date.now();
    const err = await runFree({
      scenario: 'fault', programModule: testProgram('engine-fault.mjs'), cpus: 3, seconds: 60,
      options: { faultCpu: 2, faultOp: 300 },
    }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(CpuFaultError);
    const f = err as InstanceType<typeof CpuFaultError>;
    expect(f.cpu).toBe(2);
    expect(f.op).toBe(300);
    expect(f.message).toMatch(/^CPU 2 faulted in op 300: Error: injected test fault on CPU 2/);
    expect(f.workerStack).toContain('engine-fault.mjs');
    // The others were calling CPU 2 with wait: they had to unwind, not hang.
    expect(Date.now() - t0).toBeLessThan(50_000); // the run asked for 60 s
    const result = f.result as { stoppedBy: string; perCpu: { cpu: number; stopped: boolean }[] };
    expect(result.stoppedBy).toBe('fault');
    expect(result.perCpu.filter((c) => c.cpu !== 2).every((c) => c.stopped)).toBe(true);
  });

  it('can be returned in the result instead', async () => {
    const { runFree, CpuFaultError } = await loadEngine();
    const r = await runFree({
      scenario: 'fault', programModule: testProgram('engine-fault.mjs'), cpus: 2, ops: 1000,
      options: { faultCpu: 0, faultOp: 0 }, onFault: 'return',
    });
    expect(r.fault).toBeInstanceOf(CpuFaultError);
    expect(r.stoppedBy).toBe('fault');
  });
});
