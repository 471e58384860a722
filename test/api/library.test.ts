import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COUNTER_NAMES, compare, runScenario } from '../../dist/src/api.js';

// The library API: a test suite runs scenarios and asserts on RunReports
// (library-install.test.ts installs the package into a fresh project).

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(REPO, 'examples', 'map-unmap.mjs');

describe('library API', () => {
  it('runScenario returns the RunReport of a built-in scenario, and of a scenario file', async () => {
    const r = await runScenario({ scenario: 'tlb-flush2', cpus: 2, ops: 150 });
    expect(r.scenario).toBe('tlb-flush2');
    expect(r.totals.ops).toBe(300);
    expect(r.totals.violations).toBe(0);
    // Every counter of the typed totals is there, as a number.
    for (const name of COUNTER_NAMES) expect(typeof r.totals[name]).toBe('number');
    const bad = await runScenario({ scenarioFile: EXAMPLE, cpus: 4, seconds: 2, inject: ['free-before-flush'] });
    expect(bad.scenario).toBe('map-unmap');
    expect(bad.totals.violations).toBeGreaterThan(0);
    expect(bad.violationRecords.length).toBeGreaterThan(0);
  });

  it('compare summarises each metric per variant against the first', async () => {
    const { metrics, reports } = await compare({ scenario: 'fio-randread', variants: ['asi-off', 'asi-on'], samples: 2, cpus: 2, ops: 100, profile: 'spr-ibpb' });
    expect(reports.get('asi-on')).toHaveLength(2);
    const exits = metrics.find((m) => m.name === 'asiExitsPerOp')!;
    expect(exits.variants.map((v) => v.variant)).toEqual(['asi-off', 'asi-on']);
    expect(exits.variants[0]!.mean).toBe(0);
    expect(exits.variants[1]!.mean).toBeGreaterThan(0.9);
    expect(exits.variants[1]!.verdict).toBe('worse');
  });

  it('compare takes design paths in variants and a design option, as the CLI does', async () => {
    const lazy = join(REPO, 'examples', 'ephmap8-lazy.mjs');
    const broken = join(REPO, 'examples', 'ephmap8-lazy-broken.mjs');
    const { metrics, reports } = await compare({
      scenario: 'fio-randread', variants: ['asi-on+ephmap', lazy], design: broken, samples: 1, cpus: 2, ops: 60,
    });
    const names = [...reports.keys()];
    expect(names[0]).toBe('asi-on+ephmap');
    expect(names.length).toBe(3);
    expect(reports.get(names[1]!)![0]!.designSource).toBe(lazy);
    expect(reports.get(names[2]!)![0]!.designSource).toBe(broken);
    expect(metrics[0]!.variants.map((v) => v.variant)).toEqual(names);
  });

  it('rejects an unknown scenario or variant with the CLI\'s one-line message', async () => {
    await expect(runScenario({ scenario: 'no-such' })).rejects.toThrow(/unknown scenario "no-such": use one of/);
    await expect(runScenario({ scenario: 'tlb-flush2', variant: 'asi-of' })).rejects.toThrow(/variant/);
  });
});
