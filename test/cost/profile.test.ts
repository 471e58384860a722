// CPU profiles and simulated time: counts times cycles, the busiest CPU's
// total as the run's simulated length.
import { describe, expect, it } from 'vitest';
import { COUNTER_NAMES } from '../../native-layout/counters.js';
import { ProfileError, loadProfile, parseProfile, profileNames } from '../../src/cost/profile.js';
import { simulate } from '../../src/cost/simulate.js';
import { runCli } from '../cli/helpers.js';

describe('CPU profiles', () => {
  it('ships spr, spr-ibpb and milan; every cost names a counted event and says where it comes from', () => {
    expect(profileNames()).toEqual(expect.arrayContaining(['milan', 'spr', 'spr-ibpb']));
    for (const name of profileNames()) {
      const p = loadProfile(name);
      expect(p.ghz).toBeGreaterThan(0);
      expect(p.costs.length).toBeGreaterThan(5);
      for (const c of p.costs) {
        expect(COUNTER_NAMES as readonly string[]).toContain(c.event);
        expect(c.fitted || c.source.length > 0).toBe(true);
      }
    }
  });

  it('refuses an unknown profile, an uncounted event, a repeated one and a negative cost, naming them', () => {
    expect(() => loadProfile('nope')).toThrow(/unknown profile "nope": use one of .*spr/);
    const base = { name: 'x', ghz: 2, costs: [{ event: 'invlpg', cycles: 200 }] };
    expect(() => parseProfile('x', { ...base, costs: [{ event: 'warpDrives', cycles: 1 }] })).toThrow(/"warpDrives" is not a counted event/);
    expect(() => parseProfile('x', { ...base, costs: [...base.costs, ...base.costs] })).toThrow(/costed twice/);
    expect(() => parseProfile('x', { ...base, costs: [{ event: 'invlpg', cycles: -1 }] })).toThrow(ProfileError);
    expect(() => parseProfile('x', { ...base, ghz: 0 })).toThrow(/ghz must be above 0/);
  });

  it('turns each CPU\'s counts into cycles, and the busiest CPU into simulated time', () => {
    const p = parseProfile('t', { name: 't', ghz: 2, costs: [{ event: 'invlpg', cycles: 200 }, { event: 'accesses', cycles: 5 }] });
    const sim = simulate(p, [
      { cpu: 0, counters: { ops: 10, invlpg: 10, accesses: 100 } },
      { cpu: 1, counters: { ops: 30, invlpg: 1, accesses: 20, ipisSent: 99 } },
    ]);
    expect(sim.perCpu.map((c) => c.cycles)).toEqual([2500, 300]);
    expect(sim.perCpu[0]!.byEvent).toEqual({ invlpg: 2000, accesses: 500 });
    expect(sim.cycles).toBe(2800);
    // 2,500 cycles at 2 GHz = 1.25 us; 40 ops in that time.
    expect(sim.elapsedMs).toBeCloseTo(0.00125, 9);
    expect(sim.opsPerSimSecond).toBeCloseTo(40 / 1.25e-6, 0);
  });

  it('run reports simulated time under the chosen profile; profiles --list shows the costs', () => {
    const r = runCli(['run', 'tlb-flush2', '--cpus', '2', '--ops', '50', '--profile', 'milan', '--format', 'json', '--no-progress']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.profile).toBe('milan');
    expect(j.simElapsedMs).toBeGreaterThan(0);
    expect(j.opsPerSimSecond).toBeCloseTo(j.totals.ops / (j.simElapsedMs / 1000), 3);
    expect(j.perCpu.reduce((s: number, c: { simCycles: number }) => s + c.simCycles, 0)).toBeCloseTo(j.simCycles, 3);
    const bad = runCli(['run', 'tlb-flush2', '--ops', '5', '--profile', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--profile: unknown profile "nope"/);
    const list = runCli(['profiles', '--list', '--format', 'json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).map((p: { name: string }) => p.name)).toContain('spr-ibpb');
  });
});
