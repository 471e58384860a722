// Shared by the clean-run tests: run a scenario without injected bugs and
// assert what every healthy run shows (no violation, a clean end-of-run
// check, no lost frame, IPIs all answered, real remote shootdowns, no
// unexpected OOM or SIGSEGV). Returns the per-CPU workload summaries summed,
// for the scenario's own assertions.
import { expect } from 'vitest';
import type { ScenarioOptions } from '../../src/workloads/index.js';
import { loadEngine } from './helpers.js';

export type Stats = Record<string, number>;

export interface CleanRun {
  readonly scenario: string;
  readonly seconds?: number;
  readonly seed?: number;
  readonly options?: ScenarioOptions;
  /** Remote flushes the run must at least have done (default 50). */
  readonly minRemoteFlushes?: number;
}

export async function expectCleanRun(c: CleanRun): Promise<Stats> {
  const { runFree } = await loadEngine();
  const r = await runFree({ scenario: c.scenario, cpus: 4, seconds: c.seconds ?? 2, seed: c.seed ?? 1, options: c.options ?? {} });
  expect(r.stoppedBy).toBe('time');
  expect(r.violationRecords).toEqual([]);
  expect(r.violations).toBe(0);
  expect(r.endCheck).toEqual({ violations: [], framesLost: 0 });
  expect(r.framesLost).toBe(0);
  expect(r.totals.ipisReceived).toBe(r.totals.ipisSent);
  expect(r.totals.flushesRemote).toBeGreaterThan(c.minRemoteFlushes ?? 50);
  const s: Stats = {};
  for (const cpu of r.perCpu) for (const [k, v] of Object.entries(cpu.summary as Stats)) s[k] = (s[k] ?? 0) + v;
  expect(s['oom'] ?? 0).toBe(0);
  expect(s['segv'] ?? 0).toBe(0);
  return s;
}
