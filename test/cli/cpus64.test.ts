// Issue 12, "64 CPUs means 64 CPUs": every scenario runs at 64 CPUs with its
// defaults, in every mode it accepts, and ends clean. Short runs (--ops 2
// per CPU): the point is that the set-up fits and the CPUs run, not load.
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/workloads/index.js';
import { runCli } from './helpers.js';

/** Scenarios that refuse mode=processes (their threads share one mapping by design). */
const THREADS_ONLY = new Set(['reclaim-mprotect', 'mremap-truncate', 'ephmap-copy', 'page-cache-evict', 'shared-file-writeback', 'madvise-race']);

const cases: [string, string[]][] = SCENARIOS.flatMap((s) => {
  if (!s.optionNames.includes('mode')) return [[s.name, []] as [string, string[]]];
  const modes = THREADS_ONLY.has(s.name) ? ['threads'] : ['threads', 'processes'];
  return modes.map((m) => [s.name, ['--option', `mode=${m}`]] as [string, string[]]);
});

describe('every scenario at 64 CPUs', () => {
  it.each(cases)('%s %j runs clean on 64 CPUs', (scenario, extra) => {
    // 64 worker threads boot in 5-10 s on an idle 2-core host; the bound is
    // generous because a loaded host (load average 60 measured) takes ~55 s.
    const r = runCli(['run', scenario, '--cpus', '64', '--ops', '2', '--no-progress', '--format', 'json', ...extra], 170_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.cpus).toBe(64);
    expect(j.perCpu).toHaveLength(64);
    expect(j.stoppedBy).toBe('ops');
    expect(j.totals.ops).toBe(128);
    expect(j.totals.violations).toBe(0);
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
