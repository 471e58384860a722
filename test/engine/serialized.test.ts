// The serialized engine: one CPU at a time, a seeded scheduler at every
// scheduling point, so a configuration replays exactly — violations too.
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/helpers.js';
import { loadEngine } from './helpers.js';

describe('the serialized engine', () => {
  it('gives the same run twice for one configuration, and another run for another schedule seed', async () => {
    const { runFree } = await loadEngine();
    const cfg = { scenario: 'tlb-flush2-mixed', cpus: 3, ops: 80, seed: 2, engine: 'serialized' as const, schedSeed: 7 };
    const a = await runFree(cfg);
    const b = await runFree(cfg);
    expect(a.engine).toBe('serialized');
    expect(a.schedSteps).toBeGreaterThan(a.ops);
    expect(b.digest).toBe(a.digest);
    expect(b.schedSteps).toBe(a.schedSteps);
    expect(b.totals).toEqual(a.totals);
    const c = await runFree({ ...cfg, schedSeed: 8 });
    expect(c.violations).toBe(0);
    expect(c.digest).not.toBe(a.digest);
  });

  it('replays a violation exactly: same count, same first record', async () => {
    const { runFree } = await loadEngine();
    const cfg = {
      scenario: 'tlb-flush2-shared', cpus: 4, ops: 150, seed: 3, engine: 'serialized' as const,
      inject: ['free-before-flush'], onFault: 'return' as const,
    };
    // Find a schedule that shows the bug, then run it again.
    let found = null;
    for (let schedSeed = 1; schedSeed <= 6 && found === null; schedSeed++) {
      const r = await runFree({ ...cfg, schedSeed });
      if (r.violations > 0) found = { schedSeed, r };
    }
    expect(found, 'no schedule seed in 1..6 showed free-before-flush').not.toBeNull();
    const again = await runFree({ ...cfg, schedSeed: found!.schedSeed });
    expect(again.violations).toBe(found!.r.violations);
    expect(again.violationRecords).toEqual(found!.r.violationRecords);
    expect(again.digest).toBe(found!.r.digest);
  });

  it('pct gives priorities and change points from the schedule seed', async () => {
    const { runFree } = await loadEngine();
    const cfg = { scenario: 'ipi-storm', cpus: 3, ops: 60, seed: 1, engine: 'serialized' as const, sched: 'pct' as const, preemptions: 3, schedSeed: 5 };
    const a = await runFree(cfg);
    const b = await runFree(cfg);
    expect(a.sched).toBe('pct');
    expect(a.digest).toBe(b.digest);
    expect(a.totals.ipisReceived).toBe(a.totals.ipisSent);
  });

  it('refuses a run with no op budget: wall time would make it unrepeatable', async () => {
    const { runFree } = await loadEngine();
    await expect(runFree({ scenario: 'tlb-flush2', cpus: 2, seconds: 1, engine: 'serialized' }))
      .rejects.toThrow(/serialized run ends by its op budget/);
  });

  it('shootdown run --engine serialized --check-determinism says the digests agree and prints a replay line that names the schedule', () => {
    const r = runCli(['run', 'munmap-storm', '--cpus', '2', '--ops', '40', '--engine', 'serialized', '--sched-seed', '3', '--check-determinism', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/determinism: two runs gave the same digest \([0-9a-f]{8}\)/);
    const bad = runCli(['run', 'munmap-storm', '--engine', 'serialized', '--seconds', '1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--engine serialized needs --ops N/);
  });
});
