import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeRow, median } from '../../bench/harness.js';

const BENCH = fileURLToPath(new URL('../../dist/bench/run.js', import.meta.url));

describe('bench rows', () => {
  it('pairs trials: the ratio is the median of per-trial ratios, min and max are the extreme trials', () => {
    const r = makeRow({
      name: 'x', unit: 'ops/s', values: [10, 30, 20, 40, 50], baselines: [100, 100, 40, 100, 100],
      baselineName: 'raw', target: { on: 'ratio', op: '>=', bound: 0.4 },
    });
    expect(r.value).toBe(30);
    expect(r.baseline).toBe(100);
    // Per-trial ratios 0.1, 0.3, 0.5, 0.4, 0.5: median 0.4 (a ratio of medians would say 0.3).
    expect(r.ratio).toBe(0.4);
    expect([r.min, r.max, r.ratioMin, r.ratioMax]).toEqual([10, 50, 0.1, 0.5]);
    expect(r).toMatchObject({ target: 'ratio >= 0.4', pass: true, trials: 5 });
    expect(makeRow({ name: 'y', unit: 'ms', values: [2100, 1900, 2500], target: { on: 'value', op: '<', bound: 2000 } }).pass).toBe(false);
    expect(() => makeRow({ name: 'z', unit: 'u', values: [1, 2], baselines: [1] })).toThrow(/2 trials but 1 baselines/);
    expect(median([3, 1, 2, 4])).toBe(2.5);
  });
});

describe('npm run bench arguments', () => {
  it('refuses an unknown argument in one line with exit 2, and prints usage for --help', () => {
    const bad = spawnSync(process.execPath, [BENCH, '--fast'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringContaining('"--fast"')]);
    const group = spawnSync(process.execPath, [BENCH, '--only', 'tlb,nope'], { encoding: 'utf8' });
    expect(group.status).toBe(2);
    expect(group.stderr).toContain('"nope"');
    const help = spawnSync(process.execPath, [BENCH, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--json FILE');
  });

  it('writes the JSON rows with every field the issue names', () => {
    const file = `${process.env['TMPDIR'] ?? '/tmp'}/bench-sab-${process.pid}.json`;
    const r = spawnSync(process.execPath, [BENCH, '--only', 'sab', '--json', file], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const rows = JSON.parse(readFileSync(file, 'utf8'));
    expect(rows).toHaveLength(1);
    for (const k of ['name', 'value', 'unit', 'baseline', 'ratio', 'target', 'pass', 'min', 'max']) expect(rows[0]).toHaveProperty(k);
    expect(rows[0].value).toBeLessThanOrEqual(32);
  });
});

describe('interleaving points off (issue 11: under 3% of the TLB-hit and alloc figures)', () => {
  it('measures both subjects against a bundle with kernelPoint removed, in the same run', () => {
    const file = `${process.env['TMPDIR'] ?? '/tmp'}/bench-points-${process.pid}.json`;
    const r = spawnSync(process.execPath, [BENCH, '--quick', '--only', 'points', '--json', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(readFileSync(file, 'utf8'));
    expect(rows.map((x: { name: string }) => x.name)).toEqual(['interleaving points off: TLB hit', 'interleaving points off: alloc+free']);
    for (const row of rows) {
      expect(row).toMatchObject({ target: 'ratio >= 0.97', baselineName: 'same bundle, kernelPoint removed' });
      expect(row.trials).toBeGreaterThanOrEqual(5);
      // Both sides ran the same loop: a ratio far from 1 means one of them measured something else.
      expect(row.ratio).toBeGreaterThan(0.5);
      expect(row.ratio).toBeLessThan(2);
    }
  }, 120_000);
});
