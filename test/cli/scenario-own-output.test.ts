// Issue 8 tryout fixes: the table form of `run guest-memfd` / `run mshare`
// names the scenario's own counters and its key options as resolved.
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

describe('scenario-own counters and options in the table output', () => {
  it('guest-memfd: the gmem counters line matches the JSON totals; defaults named in the header', () => {
    const args = ['run', 'guest-memfd', '--variant', 'per-folio', '--cpus', '2', '--ops', '300', '--no-progress'];
    const table = runCli(args, 60_000);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/options recursion=refuse \(default\) leaves=1g \(default\)/);
    const line = table.stdout.split('\n').find((l) => l.startsWith('guest-memfd counters: '));
    expect(line).toBeDefined();
    // Every counter printed is non-zero and matches the run's JSON report of the same seed and ops.
    const json = runCli([...args, '--format', 'json'], 60_000);
    const totals = (JSON.parse(json.stdout) as { totals: Record<string, number> }).totals;
    expect(totals['gmemFaults']).toBeGreaterThan(0);
    expect(line).toContain('gmemFaults ');
    expect(line).toContain('gmemKernelFlushes ');
    for (const [, name, value] of line!.matchAll(/(\w+) ([\d,]+)/g)) {
      expect(Number(value!.replace(/,/g, ''))).toBeGreaterThan(0);
      expect(totals[name!]).toBeGreaterThan(0);
    }
  }, 120_000);

  it('mshare: a given strategy is printed as given, and the mshare counters line appears', () => {
    const r = runCli(['run', 'mshare', '--option', 'strategy=union', '--cpus', '4', '--ops', '300', '--no-progress'], 60_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/options strategy=union \|/);
    expect(r.stdout).not.toContain('strategy=flush-all');
    expect(r.stdout).toMatch(/^mshare counters: .*mshareFlushes [\d,]+/m);
  }, 60_000);
});
