import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseShard, soakJobs } from '../../src/cli/soak-command.js';
import { runCli } from './helpers.js';

/** Fields the README lists that a clean, finished soak does not write (each only when it applies). */
const SOMETIMES = ['interruptedRun', 'writeError', 'stoppedAtFailure', 'running'];

/**
 * The README's "Soak summary" item names exactly the fields a summary has:
 * every top-level key and every results[] key is listed, and every listed
 * name is one of them or one written only when it applies.
 */
function expectReadmeListsSummaryFields(summary: Record<string, unknown>): void {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('- **Soak summary**');
  const item = readme.slice(start, readme.indexOf('\n- **', start + 1));
  // `name`, `name[]`, `name: value`, and the comma-separated list of a result's fields.
  const listed = new Set([...item.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1]!.split(','))
    .map((t) => /^\s*(\w+)(\[\])?(:.*)?\s*$/.exec(t)?.[1]).filter((n): n is string => n !== undefined));
  const written = [...Object.keys(summary), ...Object.keys((summary['results'] as object[])[0]!)];
  for (const key of written) expect(listed, `README's soak summary list lacks ${key}`).toContain(key);
  for (const name of listed) expect([...written, ...SOMETIMES], `README lists ${name}, which no summary writes`).toContain(name);
}

describe('shootdown soak', () => {
  it('splits the (scenario, seed) runs into disjoint shards that cover every run once', () => {
    const all = soakJobs(['a', 'b', 'c'], 5, 10, { index: 1, count: 1 });
    expect(all).toHaveLength(15);
    const shards = [1, 2, 3, 4].map((index) => soakJobs(['a', 'b', 'c'], 5, 10, { index, count: 4 }));
    const union = shards.flat().map((j) => `${j.scenario}:${j.seed}`).sort();
    expect(union).toEqual(all.map((j) => `${j.scenario}:${j.seed}`).sort());
    expect(new Set(union).size).toBe(15);
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(() => parseShard('0/4')).toThrow(/--shard "0\/4" is invalid/);
  });

  it('writes one RunReport per run and a summary, and passes when every run passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-soak-'));
    const r = runCli(['soak', '--scenarios', 'ipi-storm', '--seeds', '2', '--seconds', '0.4', '--cpus', '2', '--out', dir, '--format', 'json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.runs).toBe(2);
    expect(summary.passed).toBe(2);
    expect(existsSync(join(dir, 'ipi-storm-seed1.pb'))).toBe(true);
    expect(existsSync(join(dir, 'ipi-storm-seed2.pb'))).toBe(true);
    expect(JSON.parse(r.stdout).results.map((x: { seed: number }) => x.seed)).toEqual([1, 2]);
    expect(summary).toMatchObject({ faults: 0 });
    expect(summary.elapsedSeconds).toBeGreaterThan(0.8);
    expectReadmeListsSummaryFields(summary);
  });

  it('names each run on stderr where no bar is drawn, and says nothing per run with --no-progress', () => {
    const args = ['soak', '--scenarios', 'ipi-storm', '--seeds', '2', '--seconds', '0.3', '--cpus', '2'];
    // stderr is a pipe here: no bar, so a line per run.
    const lines = runCli(args);
    expect(lines.code).toBe(0);
    expect(lines.stderr).toBe('soak: 1/2 ipi-storm seed 1\nsoak: 2/2 ipi-storm seed 2\n');
    const quiet = runCli([...args, '--no-progress']);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/\| ipi-storm \|\s+2 \|\s+2 \|/);
  });

  it('rejects an unknown scenario in the list with exit code 2', () => {
    const r = runCli(['soak', '--scenarios', 'ipi-storm,nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--scenarios: unknown scenario "nope"/);
  });

  it('refuses an option value one scenario\'s set-up rejects before the first run, not halfway', () => {
    const r = runCli(['soak', '--scenarios', 'tlb-flush2,reclaim-mprotect', '--seconds', '1', '--option', 'mode=processes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--option: reclaim-mprotect: mode=processes/);
    expect(r.stderr).not.toMatch(/soak: 1\//);
    expect(r.stdout).toBe('');
  });

  it('rejects an option no soaked scenario reads, before running anything', () => {
    const r = runCli(['soak', '--scenarios', 'ipi-storm,tlb-flush2', '--seconds', '1', '--option', 'pagse=3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--option pagse: none of the soaked scenarios \(ipi-storm, tlb-flush2\) has that option/);
    expect(r.stdout).toBe('');
  });
});
