// shootdown merge: comparisons from several machines pooled into one
// (samples per variant added up, statistics recomputed exactly from each
// file's count, mean, min, max and stddev); files that do not describe the
// same comparison, or are not comparisons at all, get one line and exit 2.
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe as group, expect, it } from 'vitest';
import { describe } from '../../src/report/compare.js';
import { decodeCompareFile, encodeCompareFile } from '../../src/report/compare-file.js';
import { poolGroups } from '../../src/report/merge.js';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'merge-'));
const COMPARE = ['compare', 'tlb-flush2', '--variant', 'asi-off,asi-on', '--ops', '50', '--cpus', '2', '--metric', 'loopsPerSimSecond,asiExitsPerOp'];

interface Summary { variant: string; samples: number; mean: number; min: number; max: number; stddev: number; deltaPct: number; verdict: string }
interface Json { samples: number; options: string[]; memBytes: number; metrics: { name: string; variants: Summary[] }[]; asiExitReasons: { name: string; variants: Summary[] }[] }

function compareTo(file: string, extra: string[]): Json {
  const r = runCli([...COMPARE, ...extra, '--out', file, '--format', 'json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Json;
}

group('pooling statistics', () => {
  it('pooling groups gives the count, mean, min, max and n-1 stddev of all their samples together', () => {
    const all = [3, 9, 4.5, 7, 7, 1, 12.25, 6];
    const parts = [all.slice(0, 3), all.slice(3, 4), all.slice(4)];
    const pooled = poolGroups(parts.map((p) => ({ samples: p.length, ...describe(p) })));
    const direct = describe(all);
    expect(pooled.samples).toBe(all.length);
    expect(pooled.mean).toBeCloseTo(direct.mean, 12);
    expect(pooled.min).toBe(direct.min);
    expect(pooled.max).toBe(direct.max);
    expect(pooled.stddev).toBeCloseTo(direct.stddev, 12);
  });
});

group('shootdown merge', () => {
  const a = join(dir, 'a.pb');
  const b = join(dir, 'b.pb');
  let ja: Json;
  let jb: Json;

  it('pools two machines\' comparisons: samples add up, means weight by samples, deltas and verdicts are recomputed', () => {
    ja = compareTo(a, ['--samples', '2']);
    jb = compareTo(b, ['--samples', '1']);
    const html = join(dir, 'merged.html');
    const out = join(dir, 'merged.pb');
    const r = runCli(['merge', a, b, '--format', 'json', '--out', out, '--html', html]);
    expect(r.stderr).toBe(`HTML report: ${html}\n`);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as Json;
    expect(m.samples).toBe(3);
    // The set-up merge checked is recorded and carried over.
    expect(ja.options).toEqual([]);
    expect(ja.memBytes).toBeGreaterThan(0);
    expect(m.memBytes).toBe(ja.memBytes);
    for (const metric of m.metrics) {
      const ma = ja.metrics.find((x) => x.name === metric.name)!;
      const mb = jb.metrics.find((x) => x.name === metric.name)!;
      metric.variants.forEach((v, i) => {
        const va = ma.variants[i]!;
        const vb = mb.variants[i]!;
        expect(v.variant).toBe(va.variant);
        expect(v.samples).toBe(3);
        expect(v.mean).toBeCloseTo((2 * va.mean + vb.mean) / 3, 9);
        expect(v.min).toBe(Math.min(va.min, vb.min));
        expect(v.max).toBe(Math.max(va.max, vb.max));
      });
      const base = metric.variants[0]!.mean;
      expect(metric.variants[0]!.verdict).toBe('base');
      if (base !== 0) expect(metric.variants[1]!.deltaPct).toBeCloseTo(((metric.variants[1]!.mean - base) / Math.abs(base)) * 100, 9);
    }
    expect(m.asiExitReasons.length).toBeGreaterThan(0);
    expect(m.asiExitReasons[0]!.variants[0]!.samples).toBe(3);
    // The merged file merges again, and the page was written.
    expect(runCli(['merge', out, a, '--format', 'json']).code).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain('shootdown compare tlb-flush2');
  }, 120_000);

  it('prints the terminal table and Markdown like compare does', () => {
    const t = runCli(['merge', a, b]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/tlb-flush2: 3 sample\(s\) per variant, 2 CPUs, 50 ops per CPU, \d+ MiB mem, default options, profile spr/);
    expect(t.stdout).toMatch(/\| asi-on +\| 3 +\|/);
    const md = runCli(['merge', a, b, '--format', 'markdown']);
    expect(md.stdout).toContain('**loopsPerSimSecond (loops/sim-s, higher is better)**');
    // The set-up line heads the Markdown as it heads the table.
    expect(md.stdout).toMatch(/^tlb-flush2: 3 sample\(s\) per variant, 2 CPUs, 50 ops per CPU, \d+ MiB mem, default options, profile spr\n\n\*\*/);
  });

  it('refuses comparisons that differ (profile, metrics, variants, CPUs, run length, options, memory) with one line naming the difference, exit 2', () => {
    // Each file is machine a's comparison with one field changed, written as compare --out writes it.
    const real = decodeCompareFile(readFileSync(a));
    const metrics = real['metrics'] as { name: string; variants: { variant: string }[] }[];
    const variant = (m: typeof metrics): typeof metrics => m.map((x) => ({ ...x, variants: x.variants.map((v, i) => (i === 1 ? { ...v, variant: 'asi-on+ephmap' } : v)) }));
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['profile', { profile: 'milan' }, /differ in profile: "spr" vs "milan"/],
      ['cpus', { cpus: 3 }, /differ in cpus: 2 vs 3/],
      ['ops', { ops: 51 }, /differ in ops: 50 vs 51/],
      ['metric', { metrics: metrics.slice(0, 1) }, /differ in metrics: loopsPerSimSecond,asiExitsPerOp vs loopsPerSimSecond/],
      ['variant', { metrics: variant(metrics) }, /differ in variants: asi-off,asi-on vs asi-off,asi-on\+ephmap/],
      ['scenario', { scenario: 'munmap-storm' }, /differ in scenario: "tlb-flush2" vs "munmap-storm"/],
      ['options', { options: ['threads=8'] }, /differ in options: "\(defaults\)" vs "threads=8"/],
      ['mem', { memBytes: 3 * 2 ** 30 }, /differ in memBytes: \d+ vs 3221225472/],
    ];
    for (const [name, change, msg] of cases) {
      const file = join(dir, `${name}.pb`);
      writeFileSync(file, encodeCompareFile({ ...real, ...change }));
      const r = runCli(['merge', a, file]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toContain(file);
    }
  }, 120_000);

  it('refuses a file given twice (same path, a link to it, or a copy) and an --out that is an input, one line, exit 2', () => {
    const copy = join(dir, 'a-copy.pb');
    writeFileSync(copy, readFileSync(a));
    const link = join(dir, 'a-link.pb');
    symlinkSync(a, link);
    const cases: [string[], RegExp][] = [
      [['merge', a, b, a], /are the same file: give each comparison once/],
      [['merge', a, link], /are the same file/],
      [['merge', a, join(dir, '.', '..', basename(dir), 'a.pb')], /are the same file/],
      [['merge', a, copy], /have identical content \(a copy\)/],
      [['merge', a, b, '--out', b], /--out ".*b\.pb" is the input ".*b\.pb": write the merged report to another file/],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    // report show reads run reports; on a comparison it points to merge.
    const show = runCli(['report', 'show', a]);
    expect(show.code).toBe(2);
    expect(show.stderr.trim().split('\n')).toHaveLength(1);
    expect(show.stderr).toContain(`is a comparison (compare --out): print it with shootdown merge ${a}`);
    // b is untouched by the refused --out.
    expect(decodeCompareFile(readFileSync(b))['samples']).toBe(1);
  }, 60_000);

  it('refuses an unreadable, torn, corrupted or foreign file with one line naming it, exit 2', () => {
    const runReport = join(dir, 'run.pb');
    expect(runCli(['run', 'tlb-flush2', '--ops', '20', '--cpus', '2', '--no-progress', '--out', runReport]).code).toBe(0);
    const random = join(dir, 'random.pb');
    writeFileSync(random, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97 + 13) & 0xff)));
    const whole = readFileSync(a);
    const torn = join(dir, 'torn.pb');
    writeFileSync(torn, whole.subarray(0, whole.length - 7));
    const flipped = join(dir, 'flipped.pb');
    const bad = Buffer.from(whole);
    bad[bad.length - 3] ^= 0x40;
    writeFileSync(flipped, bad);
    const empty = join(dir, 'empty.pb');
    writeFileSync(empty, '');
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.pb'), /cannot be read \(ENOENT\)/],
      [runReport, /is a run report \(run --out\), not a comparison/],
      [random, /is not a shootdown comparison/],
      [torn, /is torn/],
      [flipped, /is corrupted/],
      [empty, /is empty/],
      [dir, /is a directory and other arguments are files/], // soak shard directories merge alone (issue 10, soak-merge.ts)
    ];
    for (const [file, msg] of cases) {
      const r = runCli(['merge', a, file]);
      expect(r.code, `${file}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toContain(`"${file}"`);
    }
    const none = runCli(['merge']);
    expect(none.code).toBe(2);
  }, 120_000);
});
