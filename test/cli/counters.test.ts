// Issue 12: the counters add up (accesses = tlbHits + tlbMisses on every CPU,
// in the scenarios where a permission fault on a hit used to count as
// neither) and the README defines every counter.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COUNTER_NAMES } from '../../native-layout/counters.js';
import { runCli } from './helpers.js';

describe('counters', () => {
  it.each(['fork-cow', 'tlb-flush1', 'reclaim-mprotect'])('%s: every access is one TLB hit or one miss, on every CPU', (scenario) => {
    const r = runCli(['run', scenario, '--cpus', '3', '--ops', '300', '--no-progress', '--format', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.totals.accesses).toBeGreaterThan(0);
    expect(j.totals.pageFaults).toBeGreaterThan(0);
    for (const c of [j.totals, ...j.perCpu.map((p: { counters: unknown }) => p.counters)]) {
      expect(c.tlbHits + c.tlbMisses).toBe(c.accesses);
    }
  });

  it('the README defines every counter and the run table\'s columns', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Counters'));
    for (const name of [...COUNTER_NAMES, 'framesLost']) expect(section).toMatch(new RegExp(`\\| \`${name}\`( / \`\\w+\`)? \\||/ \`${name}\` \\|`));
    for (const column of ['local', 'remote', 'full', 'INVLPGB']) expect(section).toContain(`(column \`${column}\`)`);
  });
});
