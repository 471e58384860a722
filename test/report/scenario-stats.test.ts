// The scenario's own tallies in a run report (scenario_stats): the CPUs'
// summaries summed, zeros and non-numbers left out, in the order the
// scenario declares them; and a real run carries them (hugetlb-share's
// maps and shared tables, which the README's scenario row names).
import { describe, expect, it } from 'vitest';
import { scenarioStats } from '../../src/report/run-report.js';
import { runCli } from '../cli/helpers.js';

describe('scenario tallies in the run report', () => {
  it('sums the CPUs\' summaries, keeps the declaration order and leaves out zeros and non-numbers', () => {
    const stats = scenarioStats([
      { summary: { maps: 3, shares: 0, name: 'x', unshares: 2 } },
      { summary: null },
      { summary: { maps: 4, shares: 0, unshares: 1 } },
    ]);
    expect(stats).toEqual([{ name: 'maps', value: 7 }, { name: 'unshares', value: 3 }]);
    expect(scenarioStats([{ summary: null }])).toEqual([]);
  });

  it('a hugetlb-share run reports its maps, shares and unshares, in JSON and in the table', () => {
    const j = runCli(['run', 'hugetlb-share', '--cpus', '3', '--ops', '400', '--no-progress', '--format', 'json']);
    expect(j.code).toBe(0);
    const stats = new Map((JSON.parse(j.stdout).scenarioStats as { name: string; value: number }[]).map((x) => [x.name, x.value]));
    expect(stats.get('hugetlbMaps')).toBeGreaterThan(0);
    expect(stats.get('hugetlbShares')).toBeGreaterThan(0);
    expect(stats.get('hugetlbUnshares')).toBeGreaterThan(0);
    expect(stats.get('hugetlbUnshares')).toBeLessThanOrEqual(stats.get('hugetlbShares')!);
    const t = runCli(['run', 'hugetlb-share', '--cpus', '3', '--ops', '400', '--no-progress']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^scenario tallies \(all CPUs\):/m);
    expect(t.stdout).toMatch(/ hugetlbMaps [\d,]+/);
  });
});
