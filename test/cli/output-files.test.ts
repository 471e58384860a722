// Issue 12, "never lose a result, never leave a lie on disk": every output
// path is checked before any work, report files are framed so an empty or
// torn one is refused, and a used soak directory is not silently mixed.
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeReportFile, encodeReportFile, REPORT_FILE_HEADER_BYTES } from '../../src/report/report-file.js';
import { runCli } from './helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'shootdown-out-'));

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('output paths are checked before any work starts', () => {
  it.each([
    ['a directory', (d: string) => d, /--out ".*" is a directory: name a file in it/],
    ['a file in a missing directory', (d: string) => join(d, 'missing-dir', 'r.pb'), /--out ".*missing-dir\/r\.pb": directory ".*missing-dir" does not exist/],
    ['a file under a regular file', (d: string) => { writeFileSync(join(d, 'f'), 'x'); return join(d, 'f', 'r.pb'); }, /is a file, not a directory/],
  ])('run --out %s: exit 2, one line, nothing run', (_what, path, message) => {
    const d = tmp();
    const t0 = Date.now();
    const r = runCli(['run', 'tlb-flush2', '--seconds', '30', '--out', path(d)]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(message);
    expect(r.stdout).toBe('');
    expect(Date.now() - t0).toBeLessThan(15_000); // the 30 s run never started
  });

  it.each([
    ['an existing file', (d: string) => { writeFileSync(join(d, 'f'), 'x'); return join(d, 'f'); }, /--out ".*f" is a file, not a directory/],
    ['a path under a regular file', (d: string) => { writeFileSync(join(d, 'f'), 'x'); return join(d, 'f', 'sub'); }, /--out ".*f\/sub": ".*f" is a file, not a directory/],
  ])('soak --out %s: exit 2, one line, nothing run', (_what, path, message) => {
    const d = tmp();
    const r = runCli(['soak', '--scenarios', 'ipi-storm', '--seeds', '1', '--seconds', '30', '--cpus', '2', '--out', path(d)]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('report files carry a header a reader checks', () => {
  const report = (): Buffer => {
    const d = tmp();
    const out = join(d, 'r.pb');
    const r = runCli(['run', 'ipi-storm', '--cpus', '2', '--seconds', '0.3', '--out', out]);
    expect(r.code).toBe(0);
    return readFileSync(out);
  };

  it('round-trips a real report, and refuses an empty, torn, extended or corrupted copy', () => {
    const bytes = report();
    expect(bytes.subarray(0, 8).toString('ascii')).toBe('SHOOTRPT');
    const decoded = decodeReportFile(bytes);
    expect(decoded['scenario']).toBe('ipi-storm');
    expect(decodeReportFile(encodeReportFile(decoded))['totals']).toEqual(decoded['totals']);
    expect(() => decodeReportFile(Buffer.alloc(0))).toThrow(/is empty/);
    expect(() => decodeReportFile(bytes.subarray(0, REPORT_FILE_HEADER_BYTES + 5))).toThrow(/is torn/);
    expect(() => decodeReportFile(bytes.subarray(0, 10))).toThrow(/not a shootdown report/);
    expect(() => decodeReportFile(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/is torn/);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 3]! ^= 0x40;
    expect(() => decodeReportFile(flipped)).toThrow(/checksum/);
    const newer = Buffer.from(bytes);
    newer.writeUInt32LE(99, 8);
    expect(() => decodeReportFile(newer)).toThrow(/version 99/);
  });

  it('report show prints a report, and refuses an empty or torn one with one line naming it', () => {
    const d = tmp();
    const good = join(d, 'good.pb');
    writeFileSync(good, report());
    const shown = runCli(['report', 'show', good]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/scenario ipi-storm \| variant asi-off \| 2 CPUs/);
    const json = JSON.parse(runCli(['report', 'show', good, '--format', 'json']).stdout);
    expect(json[0]).toMatchObject({ kind: 'run-report', content: { scenario: 'ipi-storm', cpus: 2, seconds: 0.3, watchdogMs: 5000 } });
    const empty = join(d, 'empty.pb');
    writeFileSync(empty, '');
    const torn = join(d, 'torn.pb');
    writeFileSync(torn, readFileSync(good).subarray(0, 40));
    for (const [file, why] of [[empty, /is empty/], [torn, /is torn/]] as const) {
      const r = runCli(['report', 'show', file]);
      expect(r.code).toBe(2);
      expect(oneLine(r.stderr)).toMatch(new RegExp(`report show: "${file}" ${why.source}`));
      expect(r.stdout).toBe('');
    }
  });
});

describe('soak --out directories', () => {
  const soak = (dir: string, ...more: string[]) =>
    runCli(['soak', '--scenarios', 'ipi-storm', '--seeds', '2', '--seconds', '0.3', '--cpus', '2', '--out', dir, '--format', 'json', ...more]);

  it('refuses a used directory, keeps finished runs with --resume, starts over with --force', () => {
    const d = tmp();
    expect(soak(d).code).toBe(0);
    const mtime = statSync(join(d, 'ipi-storm-seed1.pb')).mtimeMs;

    const again = soak(d);
    expect(again.code).toBe(2);
    expect(oneLine(again.stderr)).toMatch(/--out ".*" already holds results of this soak .* add --resume .* or --force/);
    expect(again.stdout).toBe('');

    // --resume with one run's file torn: that run is redone, the other kept.
    writeFileSync(join(d, 'ipi-storm-seed2.pb'), '');
    const resumed = soak(d, '--resume');
    expect(resumed.code).toBe(0);
    const s = JSON.parse(resumed.stdout);
    expect(s.results.map((r: { seed: number; resumed: boolean }) => [r.seed, r.resumed])).toEqual([[1, true], [2, false]]);
    expect(statSync(join(d, 'ipi-storm-seed1.pb')).mtimeMs).toBe(mtime);
    expect(decodeReportFile(readFileSync(join(d, 'ipi-storm-seed2.pb')))['seed']).toBe(2);

    // --resume refuses results made with other flags rather than mixing them.
    const other = runCli(['soak', '--scenarios', 'ipi-storm', '--seeds', '2', '--seconds', '0.3', '--cpus', '3', '--out', d, '--resume']);
    expect(other.code).toBe(2);
    expect(oneLine(other.stderr)).toMatch(/--resume: ".*ipi-storm-seed1\.pb" was made with --cpus 2, not 3/);

    const forced = soak(d, '--force');
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).results.every((r: { resumed: boolean }) => !r.resumed)).toBe(true);
    expect(statSync(join(d, 'ipi-storm-seed1.pb')).mtimeMs).toBeGreaterThan(mtime);
  });

  it('gives every shard its own summary, so shards can share a directory', () => {
    const d = tmp();
    for (const shard of ['1/2', '2/2']) expect(soak(d, '--shard', shard).code).toBe(0);
    const names = readdirSync(d).sort();
    expect(names).toEqual(['ipi-storm-seed1.pb', 'ipi-storm-seed2.pb', 'summary-shard1of2.json', 'summary-shard2of2.json']);
    const s1 = JSON.parse(readFileSync(join(d, 'summary-shard1of2.json'), 'utf8'));
    const s2 = JSON.parse(readFileSync(join(d, 'summary-shard2of2.json'), 'utf8'));
    expect(s1.results.map((r: { seed: number }) => r.seed)).toEqual([1]);
    expect(s2.results.map((r: { seed: number }) => r.seed)).toEqual([2]);
    // Each summary records what produced it.
    expect(s1).toMatchObject({ format: 'shootdown-soak-summary/1', shard: '1/2', variant: 'asi-off', cpus: 2, seeds: 2, seedStart: 1, secondsPerRun: 0.3, watchdogMs: 5000, complete: true });
    expect(typeof s1.toolVersion).toBe('string');
    const shown = runCli(['report', 'show', join(d, 'summary-shard1of2.json'), join(d, 'ipi-storm-seed2.pb')]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/soak-summary[\s\S]*soak shard 1\/2[\s\S]*run-report[\s\S]*seed 2/);
  });
});
