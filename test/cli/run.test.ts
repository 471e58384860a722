import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeReportFile } from '../../src/report/report-file.js';
import { runCli } from './helpers.js';

describe('shootdown run', () => {
  it('prints a RunReport in the proto3 JSON mapping with self-consistent IPI counts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-run-'));
    const out = join(dir, 'report.pb');
    const r = runCli(['run', 'ipi-storm', '--cpus', '3', '--seconds', '1', '--seed', '7', '--format', 'json', '--out', out]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ scenario: 'ipi-storm', variant: 'asi-off', cpus: 3, seed: 7, stoppedBy: 'time' });
    for (const key of ['ops', 'tlbHits', 'tlbMisses', 'ipisSent', 'ipisReceived', 'flushesLocal', 'flushesRemote', 'flushesFull', 'violations', 'framesLost']) {
      expect(typeof j.totals[key]).toBe('number');
    }
    expect(j.totals.ipisSent).toBeGreaterThan(0);
    expect(j.totals.ipisReceived).toBe(j.totals.ipisSent);
    expect(j.totals.violations).toBe(0);
    expect(j.perCpu).toHaveLength(3);
    expect(j.perCpu.reduce((s: number, c: { counters: { ops: number } }) => s + c.counters.ops, 0)).toBe(j.totals.ops);
    expect(j.violationRecords).toEqual([]);
    const decoded = decodeReportFile(readFileSync(out));
    expect(decoded['scenario']).toBe('ipi-storm');
    expect((decoded['totals'] as { ipisSent: number }).ipisSent).toBe(j.totals.ipisSent);
  });

  it('lists scenarios one per line', () => {
    const r = runCli(['run', '--list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ipi-storm\s+\S/m);
  });

  it.each([
    [['run', 'no-such-scenario'], /unknown scenario "no-such-scenario": use one of .*ipi-storm/],
    [['run', 'ipi-storm', '--variant', 'magic'], /--variant "magic" is not one of: asi-off, asi-on, ipi, invlpgb/],
    [['run', 'ipi-storm', '--variant', 'asi-on+turbo'], /part "turbo" is not one of ephmap, mermap, exit-every-switch, exit-mm-change, noflush, invlpgb/],
    [['run', 'ipi-storm', '--inject', 'not-a-bug'], /unknown bug "not-a-bug"/],
    [['run', 'ipi-storm', '--cpus', '65'], /--cpus 65 is out of range: use 1\.\.64/],
    [['run', 'ipi-storm', '--cpus', '0'], /--cpus 0 is out of range/],
    [['run', 'ipi-storm', '--ops', '1e3'], /--ops "1e3" is not a whole number/],
    [['run', 'ipi-storm', '--seconds', 'soon'], /--seconds "soon" is not a duration/],
    [['run', 'ipi-storm', '--mem', '12Q'], /--mem "12Q" is not a size/],
    [['run', 'ipi-storm', '--format', 'yaml'], /--format "yaml" is not one of: table, json/],
    [['run'], /run: name a scenario/],
  ])('rejects %j with one line and exit code 2', (args, message) => {
    const r = runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('shootdown inject --list', () => {
  it('lists the implemented bugs as JSON with the invariant and the scenario that catches each', () => {
    const r = runCli(['inject', '--list', '--format', 'json']);
    expect(r.code).toBe(0);
    const bugs = JSON.parse(r.stdout) as { name: string; invariant: string; scenario: string; args: string[] }[];
    expect(bugs.length).toBeGreaterThan(0);
    for (const b of bugs) {
      expect(b.name).toMatch(/^[a-z0-9-]+$/);
      expect(b.invariant.length).toBeGreaterThan(10);
      expect(b.scenario).not.toBe('');
      expect(Array.isArray(b.args)).toBe(true);
    }
    expect(bugs.map((b) => b.name)).toContain('expand-drops-half');
  });

  it('lists every catalogued bug in the table form when none is pending, with no pending note', () => {
    const r = runCli(['inject', '--list']);
    const all = runCli(['inject', '--list', '--all']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/catalogued bugs are pending/);
    expect(r.stdout).toBe(all.stdout);
  });
});

describe('shootdown run under the watchdog', () => {
  it('reports a CPU that never acknowledges an IPI, with every CPU\'s state, and exits non-zero without hanging', () => {
    const t0 = Date.now();
    const r = runCli(['run', 'ipi-storm', '--cpus', '3', '--seconds', '30', '--watchdog-ms', '500', '--test-never-ack', '1', '--format', 'json'], 40_000);
    // Well before the 30 s the run asked for: the watchdog ended it (about
    // 2 s on an idle host; a loaded one takes longer to start workers).
    expect(Date.now() - t0).toBeLessThan(28_000);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.stoppedBy).toBe('watchdog');
    expect(j.fault).toMatch(/watchdog: CPU \d waited \d+ ms for IPI acks from CPU\(s\) 1/);
    for (const cpu of [0, 1, 2]) expect(j.fault).toContain(`cpu ${cpu}:`);
    expect(r.stderr).toMatch(/^shootdown: run ipi-storm: watchdog/);
  });
});

describe('shootdown run with an injected bug', () => {
  it('reports violations with generations, counts per kind, the first records of each kind with every CPU\'s events at that moment, a replay command, and exits 1', () => {
    const r = runCli(['run', 'munmap-storm', '--cpus', '4', '--seconds', '3', '--inject', 'ceiling-partial-flush', '--format', 'json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.totals.violations).toBeGreaterThan(0);
    const v = j.violationRecords[0];
    expect(v.kind).toMatch(/stale/);
    expect(v.fillGen).not.toBe(v.frameGen);
    expect(v.replay).toContain('--inject ceiling-partial-flush');
    expect(v.replay).toContain('munmap-storm');
    const cpus = new Set(v.lastEvents.map((e: { cpu: number }) => e.cpu));
    expect(cpus.size).toBeGreaterThan(1);
    expect(r.stderr).toMatch(/violation\(s\)/);
    // A count per kind adds up to the total; the first few records of each
    // kind are kept (not only the first), each with the events of the moment
    // it happened: the violating CPU's snapshot ends at the violation's op,
    // not thousands of ops later at the end of the run.
    const kinds = j.violationKinds as { kind: string; count: number }[];
    expect(kinds.reduce((s, k) => s + k.count, 0)).toBe(j.totals.violations);
    const records = j.violationRecords as { kind: string; cpu: number; op: number; lastEvents: { cpu: number; op: number }[] }[];
    for (const k of kinds) {
      const kept = records.filter((x) => x.kind === k.kind).length;
      expect(kept).toBe(Math.min(3, k.count));
    }
    expect(records.length).toBeGreaterThan(1);
    for (const x of records) {
      const own = x.lastEvents.filter((e) => e.cpu === x.cpu);
      expect(own.length).toBeGreaterThan(0);
      for (const e of own) expect(e.op).toBeLessThanOrEqual(x.op % 2 ** 24);
    }
  });

  it('rejects a malformed or out-of-range scenario option with exit code 2', () => {
    const bad = runCli(['run', 'tlb-flush2', '--seconds', '1', '--option', 'threads=0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--option: tlb-flush2 option threads=0 is invalid: use an integer in 1\.\.64/);
    const malformed = runCli(['run', 'tlb-flush2', '--option', 'threads']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--option "threads" is not key=value/);
  });

  it('rejects an option key the scenario does not read, listing the ones it does', () => {
    const typo = runCli(['run', 'tlb-flush2', '--seconds', '1', '--option', 'pagse=3']);
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim().split('\n')).toHaveLength(1);
    expect(typo.stderr).toMatch(/tlb-flush2 has no option "pagse": its options are .*\bpages\b.*\bshare\b/);
    // The engine's options, valid for every scenario, are listed too; variant is not (--variant sets it).
    expect(typo.stderr).toMatch(/\binterleave\b.*\bstallSpins\b/);
    expect(typo.stderr).not.toMatch(/\bvariant\b/);
  });
});
