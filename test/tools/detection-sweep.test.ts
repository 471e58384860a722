import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TOOL = fileURLToPath(new URL('../../dist/tools/detection-sweep.js', import.meta.url));
const sweep = (args: string[]) => spawnSync(process.execPath, [TOOL, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('npm run sweep:detection', () => {
  it('runs a bug on each seed, counts the seeds that caught it, and lists harness-only bugs without running them', () => {
    const json = join(mkdtempSync(join(tmpdir(), 'sweep-')), 'sweep.json');
    const r = sweep(['--seeds', '2', '--only', 'free-before-flush,buddy-xor-wrong-order', '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| free-before-flush \| tlb-flush2-shared \| 2 of 2 \| \d+ \| - \|/);
    expect(r.stdout).toContain('| buddy-xor-wrong-order | unit-test harness | not run here | - | - |');
    const out = JSON.parse(readFileSync(json, 'utf8')) as { rows: { bug: string; caught: number; seeds: number }[] };
    expect(out.rows.find((x) => x.bug === 'free-before-flush')).toMatchObject({ caught: 2, seeds: 2 });
  }, 120_000);

  it('runs a bug with the catalogue\'s --variant and --option values parsed as run parses them', () => {
    // asi-clear-curr-before-cr3 needs --variant asi-on and interleave=20; without them it is never caught.
    const r = sweep(['--seeds', '1', '--only', 'asi-clear-curr-before-cr3']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| asi-clear-curr-before-cr3 \| fio-randread \| 1 of 1 \|/);
  }, 120_000);

  it('refuses bad arguments with one line and exit 2', () => {
    const r = sweep(['--only', 'no-such-bug']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('sweep:detection: --only: no bug "no-such-bug" (see shootdown inject --list)\n');
    expect(sweep(['--seeds', '2', '--min', '3']).stderr).toBe('sweep:detection: --min 3 is more than --seeds 2\n');
    expect(sweep(['--bogus']).stderr).toBe('sweep:detection: unknown argument "--bogus": use --seeds N, --min K, --only a,b, --json FILE, --help\n');
  });
});
