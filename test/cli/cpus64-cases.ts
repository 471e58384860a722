// Issue 12, "64 CPUs means 64 CPUs": every scenario runs at 64 CPUs with its
// defaults, in every mode it accepts, and ends clean. Short runs (--ops 2
// per CPU): the point is that the set-up fits and the CPUs run, not load.
// Two test files share these cases (threads, processes), so the suite's two
// workers split the 64-CPU runs between them.
import { expect } from 'vitest';
import { SCENARIOS } from '../../src/workloads/index.js';
import { runCli } from './helpers.js';

/** Scenarios that refuse mode=processes (their threads share one mapping by design). */
export const THREADS_ONLY = new Set(['reclaim-mprotect', 'mremap-truncate', 'ephmap-copy', 'page-cache-evict', 'shared-file-writeback', 'madvise-race']);

/** [scenario, extra args, mode]: mode '' for scenarios without modes. */
export const CASES: [string, string[], string][] = SCENARIOS.flatMap((s) => {
  if (!s.optionNames.includes('mode')) return [[s.name, [], ''] as [string, string[], string]];
  const modes = THREADS_ONLY.has(s.name) ? ['threads'] : ['threads', 'processes'];
  return modes.map((m) => [s.name, ['--option', `mode=${m}`], m] as [string, string[], string]);
});

/** Runs one case at 64 CPUs and checks it ran every CPU's ops clean. */
export function expectCleanAt64(scenario: string, extra: string[]): void {
  // 64 worker threads boot in 5-10 s on an idle 2-core host; the bound is
  // generous because a loaded host (load average 60 measured) takes ~55 s.
  // The watchdog bound too: on a loaded host 64 threads share 2 cores, and
  // a CPU can go seconds without being scheduled to ack (measured: 5.0 s in
  // guest-memfd's first kernel-range flush at load 40); this test is about
  // every scenario fitting 64 CPUs, hangs have their own tests.
  const r = runCli(['run', scenario, '--cpus', '64', '--ops', '2', '--watchdog-ms', '60000', '--no-progress', '--format', 'json', ...extra], 170_000);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.cpus).toBe(64);
  expect(j.perCpu).toHaveLength(64);
  expect(j.stoppedBy).toBe('ops');
  expect(j.totals.ops).toBe(128);
  expect(j.totals.violations).toBe(0);
}
