// Issue 12, "output a kernel engineer can read": parse errors as one
// `shootdown:` line with the valid choices, real caps, long values cut,
// --options, unreachable --inject refused, the selfcheck's deliberate
// violation said so, bench arguments checked before it runs.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('parse errors', () => {
  it.each([
    [['bogus'], /^shootdown: unknown command 'bogus': use one of: run, compare, merge, soak, report, layout, selfcheck, profiles, inject, profile, trace, hunt, shrink, new$/],
    [['run', 'ipi-storm', '--bogus'], /^shootdown: unknown option '--bogus': run takes --list, --options, --cpus, .*--format, --scenario-file, --design, --help$/],
    [['soak', '--scenaros', 'x'], /^shootdown: unknown option '--scenaros': did you mean --scenarios\? soak takes --scenarios/],
    [['run', 'ipi-storm', '--cpus'], /^shootdown: option '--cpus <n>' argument missing: give it a value/],
    [['run', 'ipi-storm', 'extra'], /^shootdown: too many arguments for 'run'\. Expected 1 argument but got 2: usage: shootdown run/],
    [['run', 'ipi-storm', '--seconds', '9999999'], /^shootdown: --seconds 9999999 is out of range: use a number above 0 and at most 604800 \(7 days\)$/],
  ])('%j: exit 2, one prefixed line with the choices', (args, message) => {
    const r = runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(message as RegExp);
    expect(r.stdout).toBe('');
  });

  it('cuts a 100,000-character bad value to a readable length', () => {
    const r = runCli(['run', 'ipi-storm', '--variant', 'x'.repeat(100_000)]);
    expect(r.code).toBe(2);
    const line = oneLine(r.stderr);
    // The value is cut; the rest is the grammar (bases and parts), which grows with the variants.
    expect(line.length).toBeLessThan(320);
    expect(line).toMatch(/--variant "x{60}…\(100,000 characters\)" is not one of: asi-off, asi-on, ipi, invlpgb/);
  });
});

describe('--inject of a bug the configuration never reaches', () => {
  it.each([
    [['run', 'tlb-flush2-shared', '--inject', 'invlpgb-tlbsync-migrated', '--ops', '1'], /needs --variant invlpgb .*this run uses --variant asi-off/],
    [['run', 'tlb-flush2', '--inject', 'drop-invalidate-other', '--ops', '1'], /needs --option pti=1 .*this run has pti=0/],
  ])('%j is refused with the flags it needs', (args, message) => {
    const r = runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(message as RegExp);
  });

  it('runs when the scenario turns the needed option on by default (fixmap-switch has pti=1)', () => {
    const r = runCli(['run', 'fixmap-switch', '--inject', 'drop-invalidate-other', '--cpus', '2', '--ops', '1', '--no-progress', '--format', 'json']);
    expect(r.stderr).not.toMatch(/needs --option/);
    expect(JSON.parse(r.stdout).inject).toEqual(['drop-invalidate-other']);
  });
});

describe('an unsafe design combination', () => {
  it('an ephemeral map with noflush runs, with one warning line; the safe spelling has none', () => {
    const r = runCli(['run', 'tlb-flush1', '--variant', 'asi-on+mermap+noflush', '--cpus', '2', '--ops', '1', '--no-progress', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^shootdown: warning: --variant asi-on\+mermap\+noflush: mermap with noflush is not a safe design/m);
    const safe = runCli(['run', 'tlb-flush1', '--variant', 'asi-on+mermap', '--cpus', '2', '--ops', '1', '--no-progress', '--format', 'json']);
    expect(safe.code).toBe(0);
    expect(safe.stderr).not.toMatch(/warning/);
  });
});

describe('run <scenario> --options', () => {
  it('lists each option with its default at the CPU count and its range', () => {
    const r = runCli(['run', 'tlb-flush2', '--options', '--cpus', '8', '--format', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const byName = Object.fromEntries(j.options.map((o: { name: string }) => [o.name, o]));
    expect(byName.threads).toEqual({ name: 'threads', default: 8, range: '1..64' });
    expect(byName.mode).toEqual({ name: 'mode', default: 'threads', range: 'threads|processes' });
    expect(byName.share).toBeDefined();
    expect(byName.interleave).toBeDefined();
    const table = runCli(['run', 'ipi-storm', '--options']);
    expect(table.stdout).toMatch(/\| irqOffPercent \| 3 +\| 0\.\.100 +\|/);
  });
});

describe('selfcheck', () => {
  it('says the violation it counts is the deliberate oracle check', () => {
    const r = runCli(['selfcheck', '--mem', '64M', '--ops', '100']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\| violations \(deliberate: the oracle check\) +\| +1 \|/);
    expect(r.stdout).toMatch(/(\d+) of \1 checks passed/);
  });
});

describe('bench/run.js arguments', () => {
  const BENCH = fileURLToPath(new URL('../../dist/bench/run.js', import.meta.url));
  const bench = (args: string[]) => spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', timeout: 20_000 });

  it('--help prints usage and exits 0 without running anything', () => {
    const r = bench(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run bench -- /);
    expect(r.stderr).not.toMatch(/running/);
  });

  it('an unknown flag is one line and exit 2, nothing run', () => {
    const r = bench(['--bogus']);
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/^bench: unknown argument "--bogus"/);
    expect(r.stdout).toBe('');
  });
});
