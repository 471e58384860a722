// Every scenario at 64 CPUs, second half: processes mode (cpus64-cases.ts),
// and the limits that remain name their cause.
import { describe, expect, it } from 'vitest';
import { CASES, THREADS_ONLY, expectCleanAt64 } from './cpus64-cases.js';
import { runCli } from './helpers.js';

describe('every scenario at 64 CPUs (processes mode)', () => {
  it.each(CASES.filter((c) => c[2] === 'processes'))('%s %j runs clean on 64 CPUs', (scenario, extra) => {
    expectCleanAt64(scenario, extra);
  }, 180_000);

  it('the modes a scenario refuses are refused with the reason, not a table-size error', () => {
    for (const name of THREADS_ONLY) {
      const r = runCli(['run', name, '--cpus', '64', '--ops', '1', '--option', 'mode=processes']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/mode=processes.*is invalid/);
    }
  });

  it('a limit an option sets names the option to change', () => {
    const r = runCli(['run', 'tlb-flush2', '--cpus', '4', '--ops', '1', '--option', 'procs=32', '--option', 'threads=64']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tasks .* do not fit in the \d+ task slots a 4-CPU machine has: lower --option threads or procs/);
  });
});
