// `merge DIR...` over soak shard directories (src/cli/soak-merge.ts): a
// complete set merges (exit 0); a missing shard, a missing or torn report
// and a failed run make it fail (exit 1); shards of another soak, a shard
// given twice and overlapping shards are refused (exit 2).
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';
import { runSoakMerge } from '../../src/cli/soak-merge.js';
import { CheckFailedError, UsageError } from '../../src/cli/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'soak-merge-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const shard = (i: number): string => join(tmp, `base-${i}`);

beforeAll(() => {
  // Two shards of one soak: ipi-storm seeds 1 and 2, one run each.
  for (const i of [1, 2]) {
    const r = runCli(['soak', '--scenarios', 'ipi-storm', '--seeds', '2', '--seconds', '0.3', '--cpus', '2', '--shard', `${i}/2`, '--out', shard(i), '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
  }
});

function copies(name: string): [string, string] {
  const a = join(tmp, `${name}-1`);
  const b = join(tmp, `${name}-2`);
  cpSync(shard(1), a, { recursive: true });
  cpSync(shard(2), b, { recursive: true });
  return [a, b];
}

async function merge(dirs: string[], out?: string): Promise<{ text: string; error: unknown }> {
  let text = '';
  try {
    await runSoakMerge(dirs, { format: 'table', ...(out ? { out } : {}) }, (t) => { text += t; });
    return { text, error: null };
  } catch (e) {
    return { text, error: e };
  }
}

const summaryPath = (dir: string, i: number): string => join(dir, `summary-shard${i}of2.json`);
function editSummary(dir: string, i: number, edit: (s: Record<string, unknown>) => void): void {
  const s = JSON.parse(readFileSync(summaryPath(dir, i), 'utf8')) as Record<string, unknown>;
  edit(s);
  writeFileSync(summaryPath(dir, i), JSON.stringify(s));
}

describe('merge DIR... (soak shards)', () => {
  it('merges a complete set and writes a summary report show reads; fails on a missing shard, a missing or torn report, a failed run', async () => {
    const [a, b] = copies('ok');
    const out = join(tmp, 'merged.json');
    const ok = await merge([a, b], out);
    expect(ok.error).toBeNull();
    expect(ok.text).toMatch(/\| ipi-storm \|\s+2 \|\s+2 \|/);
    const merged = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    expect(merged).toMatchObject({ complete: true, jobs: 2, runs: 2, passed: 2, missingShards: [], missingReports: [] });
    expect(runCli(['report', 'show', out]).code).toBe(0);

    const one = await merge([a]);
    expect(one.error).toBeInstanceOf(CheckFailedError);
    expect(String((one.error as Error).message)).toMatch(/1 of 2 shards missing/);
    expect(one.text).toMatch(/missing shards: 2\/2/);

    rmSync(join(b, 'ipi-storm-seed2.pb'));
    truncateSync(join(a, 'ipi-storm-seed1.pb'), 10);
    const lost = await merge([a, b]);
    expect(String((lost.error as Error).message)).toMatch(/2 report file\(s\) missing or torn/);
    expect(lost.text).toMatch(/missing or torn report: .*ipi-storm-seed2\.pb: missing/);

    const [c, d] = copies('failed');
    editSummary(d, 2, (s) => { (s['results'] as { passed: boolean }[])[0]!.passed = false; s['passed'] = 0; });
    const failed = await merge([c, d]);
    expect(String((failed.error as Error).message)).toMatch(/1 of 2 runs failed their checks/);
  });

  it('refuses shards of another soak, a shard given twice and overlapping shards (exit 2)', async () => {
    const [a, b] = copies('other');
    editSummary(b, 2, (s) => { s['secondsPerRun'] = 5; });
    const other = await merge([a, b]);
    expect(other.error).toBeInstanceOf(UsageError);
    expect(String((other.error as Error).message)).toMatch(/are not shards of one soak: secondsPerRun 0.3 vs 5/);

    const [c] = copies('twice');
    const twice = await merge([c, shard(1)]);
    expect(String((twice.error as Error).message)).toMatch(/shard 1\/2 is given twice/);

    const [e, f] = copies('overlap');
    editSummary(f, 2, (s) => { (s['results'] as { seed: number }[])[0]!.seed = 1; });
    const overlap = await merge([e, f]);
    expect(String((overlap.error as Error).message)).toMatch(/ipi-storm seed 1 is in both/);
    // The CLI form: directories and comparison files do not mix; exit 2, one line.
    const mixed = runCli(['merge', e, summaryPath(e, 1)]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/is a directory and other arguments are files/);
  });
});
