// compare marks a variant whose runs had oracle violations: its delta
// ("+8.2% better") is not a result when the kernel skipped a flush. The
// count is summed per variant, kept in the compare file, pooled by merge,
// and printed in the table and Markdown.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { metricsFor, renderMarkdown, summarize, tableRows } from '../../src/report/compare.js';
import type { RunReportObject } from '../../src/report/run-report.js';
import { runCli } from '../cli/helpers.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const run = (opsPerSimSecond: number, violations: number): RunReportObject =>
  ({ opsPerSimSecond, simElapsedMs: 10, opsPerSec: 1, totals: { ops: 100, asiExits: 0, violations } }) as unknown as RunReportObject;

describe('compare and violations', () => {
  it('sums each variant\'s violations and marks its delta in the table and Markdown', () => {
    const reads = metricsFor('fio-randread').filter((m) => m.name === 'readsPerSimSecond');
    const [m] = summarize(reads, new Map([
      ['asi-on+ephmap', [run(1000, 0), run(1000, 0)]],
      ['broken', [run(1100, 5), run(1100, 3)]],
      ['clean', [run(1100, 0), run(1100, 0)]],
    ]));
    expect(m!.variants.map((v) => v.violations)).toEqual([0, 8, 0]);
    const rows = tableRows(m!);
    expect(rows[1]![6]).toBe('+10.0% better (violations: 8)');
    expect(rows[2]![6]).toBe('+10.0% better');
    expect(rows[0]![6]).toBe('base');
    expect(renderMarkdown([m!])).toContain('| broken | 2 | 1,100 | ±0 | 1,100 | 1,100 | +10.0% better (violations: 8) |');
  });

  it('the CLI table marks the broken example design beside the built-in ephmap, and compare fails', () => {
    const broken = join(REPO, 'examples', 'ephmap8-lazy-broken.mjs');
    const r = runCli(['compare', 'fio-randread', '--variant', `asi-on+ephmap,${broken}`, '--samples', '1', '--cpus', '2', '--ops', '60', '--no-progress']);
    expect(r.code).not.toBe(0);
    const lines = r.stdout.split('\n');
    const brokenRows = lines.filter((l) => l.includes('ephmap8-lazy-broken'));
    expect(brokenRows.length).toBeGreaterThan(0);
    for (const l of brokenRows) expect(l).toMatch(/\(violations: [1-9]\d*\)/);
    const baseRows = lines.filter((x) => /^\|\s*asi-on\+ephmap\s*\|/.test(x));
    expect(baseRows.length).toBe(brokenRows.length);
    for (const l of baseRows) expect(l).not.toMatch(/violations/);
  }, 60_000);
});
