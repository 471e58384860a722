// shootdown compare: per-metric summaries that know which way is better,
// the calibration against the published fio figures (issue 9 "Done
// means"), the three output shapes, and one line + exit 2 for bad input.
import { describe as group, expect, it } from 'vitest';
import { describe, metricsFor, renderMarkdown, summarize, verdictOf } from '../../src/report/compare.js';
import type { RunReportObject } from '../../src/report/run-report.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCompareFile } from '../../src/report/compare-file.js';
import { runCli } from '../cli/helpers.js';

const fakeRun = (opsPerSimSecond: number, simElapsedMs: number, asiExits: number): RunReportObject =>
  ({ opsPerSimSecond, simElapsedMs, opsPerSec: 1, totals: { ops: 100, asiExits } }) as unknown as RunReportObject;

group('comparison summaries', () => {
  it('mean, min, max and the n-1 standard deviation', () => {
    expect(describe([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, min: 2, max: 9, stddev: Math.sqrt(32 / 7) });
    expect(describe([3])).toEqual({ mean: 3, min: 3, max: 3, stddev: 0 });
  });

  it('a higher throughput is better, a higher elapsed time or exit rate is worse; tiny differences are the same', () => {
    expect(verdictOf(100, 120, 'higher')).toBe('better');
    expect(verdictOf(100, 80, 'higher')).toBe('worse');
    expect(verdictOf(100, 120, 'lower')).toBe('worse');
    expect(verdictOf(100, 100.01, 'lower')).toBe('same');
    expect(verdictOf(0, 0.5, 'lower')).toBe('worse');
  });

  it('deltas are against the first variant and carry each metric\'s direction', () => {
    const metrics = metricsFor('fio-randread').filter((m) => ['readsPerSimSecond', 'simElapsedMs', 'asiExitsPerOp'].includes(m.name));
    const s = summarize(metrics, new Map([
      ['asi-off', [fakeRun(1000, 10, 0), fakeRun(1200, 8, 0)]],
      ['asi-on', [fakeRun(330, 30, 100), fakeRun(330, 30, 104)]],
    ]));
    const reads = s.find((m) => m.name === 'readsPerSimSecond')!;
    expect(reads.betterDirection).toBe('higher');
    expect(reads.variants[0]).toMatchObject({ variant: 'asi-off', samples: 2, mean: 1100, min: 1000, max: 1200, verdict: 'base', deltaPct: 0 });
    expect(reads.variants[1]!.deltaPct).toBeCloseTo(-70, 6);
    expect(reads.variants[1]!.verdict).toBe('worse');
    const elapsed = s.find((m) => m.name === 'simElapsedMs')!;
    expect(elapsed.betterDirection).toBe('lower');
    expect(elapsed.variants[1]!.deltaPct).toBeCloseTo(233.33, 1);
    expect(elapsed.variants[1]!.verdict).toBe('worse');
    const exits = s.find((m) => m.name === 'asiExitsPerOp')!;
    expect(exits.variants[1]).toMatchObject({ mean: 1.02, deltaPct: 0, verdict: 'worse', baseZero: true });
    expect(reads.variants[1]!.baseZero).toBe(false);
    const md = renderMarkdown(s);
    expect(md).toContain('**readsPerSimSecond (reads/sim-s, higher is better)**');
    expect(md).toContain('| variant | samples | mean | ±stddev | min | max | delta |');
    expect(md).toMatch(/\| asi-on \| 2 \| 330\.00 \| ±0 \| 330\.00 \| 330\.00 \| -70\.0% worse \|/);
  });

  it('a 0 base gives no percentage: "same" when both are 0, else the direction only, flagged baseZero', () => {
    const exits = metricsFor('fio-randread').filter((m) => m.name === 'asiExitsPerOp');
    const [m] = summarize(exits, new Map([
      ['asi-off', [fakeRun(1000, 10, 0)]],
      ['asi-off-again', [fakeRun(1000, 10, 0)]],
      ['asi-on', [fakeRun(330, 30, 100)]],
    ]));
    expect(m!.variants[1]).toMatchObject({ mean: 0, deltaPct: 0, verdict: 'same', baseZero: true });
    expect(m!.variants[2]).toMatchObject({ mean: 1, deltaPct: 0, verdict: 'worse', baseZero: true });
    const md = renderMarkdown([m!]);
    expect(md).toContain('| asi-off-again | 1 | 0 | ±0 | 0 | 0 | (base 0) same |');
    expect(md).toContain('| asi-on | 1 | 1.00 | ±0 | 1.00 | 1.00 | (base 0) worse |');
    expect(md).not.toMatch(/0\.0% same/);
  });

  it('the will-it-scale scenarios report loops, not reads', () => {
    expect(metricsFor('tlb-flush2')[0]!.name).toBe('loopsPerSimSecond');
    expect(metricsFor('fio-randread')[0]!.name).toBe('readsPerSimSecond');
  });
});

group('shootdown compare', () => {
  it('spr-ibpb reproduces the published fio randread figures: asi-on -70 +-5%, asi-on+ephmap -13.1 +-5%, both worse', () => {
    const r = runCli(['compare', 'fio-randread', '--variant', 'asi-off,asi-on,asi-on+ephmap', '--samples', '5', '--cpus', '4',
      '--profile', 'spr-ibpb', '--ops', '1000', '--format', 'json'], 240_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.profile).toBe('spr-ibpb');
    const reads = j.metrics.find((m: { name: string }) => m.name === 'readsPerSimSecond');
    expect(reads.betterDirection).toBe('higher');
    const [off, on, eph] = reads.variants;
    expect(off).toMatchObject({ variant: 'asi-off', samples: 5, verdict: 'base' });
    expect(on.variant).toBe('asi-on');
    expect(on.deltaPct).toBeGreaterThanOrEqual(-75);
    expect(on.deltaPct).toBeLessThanOrEqual(-65);
    expect(on.verdict).toBe('worse');
    expect(eph.variant).toBe('asi-on+ephmap');
    expect(eph.deltaPct).toBeGreaterThanOrEqual(-18.1);
    expect(eph.deltaPct).toBeLessThanOrEqual(-8.1);
    expect(eph.verdict).toBe('worse');
    for (const v of reads.variants) {
      expect(v.min).toBeLessThanOrEqual(v.mean);
      expect(v.max).toBeGreaterThanOrEqual(v.mean);
    }
    // The difference comes from counted exits: one per read without an ephemeral map, few with one.
    const exits = j.metrics.find((m: { name: string }) => m.name === 'asiExitsPerOp');
    expect(exits.variants[1].mean).toBeGreaterThan(0.9);
    expect(exits.variants[2].mean).toBeLessThan(0.05);
  }, 300_000);

  it('prints one table per metric in the terminal, with the direction in the title', () => {
    const r = runCli(['compare', 'tlb-flush2', '--variant', 'asi-off,asi-on', '--samples', '2', '--ops', '100', '--metric', 'loopsPerSimSecond,ipisPerOp']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('loopsPerSimSecond (loops/sim-s, higher is better)');
    expect(r.stdout).toContain('ipisPerOp (IPIs/op, lower is better)');
    expect(r.stdout).toMatch(/\| variant +\| samples \| mean +\| ±stddev +\| min +\| max +\| delta +\|/);
    expect(r.stdout).toMatch(/\| asi-on +\| 2 +\|.*(better|worse|same)/);
  }, 120_000);

  it('--format markdown prints the same tables for a mail; --out writes the CompareReport as a framed protobuf file', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'compare-')), 'cmp.pb');
    const r = runCli(['compare', 'tlb-flush2', '--variant', 'asi-off,asi-on', '--samples', '2', '--ops', '100',
      '--metric', 'loopsPerSimSecond,simElapsedMs', '--format', 'markdown', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('**simElapsedMs (sim-ms, lower is better)**');
    expect(r.stdout).toContain('|---|---:|---:|---:|---:|---:|---:|');
    const back = decodeCompareFile(readFileSync(out)) as unknown as {
      scenario: string; samples: number; metrics: { name: string; variants: { variant: string; samples: number; mean: number }[] }[];
    };
    expect(back.scenario).toBe('tlb-flush2');
    expect(back.samples).toBe(2);
    expect(back.metrics.map((m) => m.name)).toEqual(['loopsPerSimSecond', 'simElapsedMs']);
    expect(back.metrics[0]!.variants.map((v) => v.variant)).toEqual(['asi-off', 'asi-on']);
    expect(back.metrics[0]!.variants[0]!.mean).toBeGreaterThan(0);
    // The printed table holds the file's numbers.
    expect(r.stdout).toContain(Math.round(back.metrics[0]!.variants[0]!.mean).toLocaleString('en-US'));
  }, 120_000);

  it('readsPerSimSecond counts reads, not ops: readsPerOp=8 keeps it (8x fewer ops of 8x the reads), and the header says what an op is', () => {
    const reads = (extra: string[]): { value: number; out: string } => {
      const r = runCli(['compare', 'fio-randread', '--variant', 'asi-off', '--samples', '1', '--cpus', '2', '--metric', 'readsPerSimSecond', '--no-progress', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      const row = /\| asi-off +\| 1 +\| ([\d,]+) /.exec(r.stdout);
      expect(row, r.stdout).not.toBeNull();
      return { value: Number(row![1]!.replace(/,/g, '')), out: r.stdout };
    };
    const one = reads(['--ops', '400']);
    const eight = reads(['--ops', '50', '--option', 'readsPerOp=8']);
    expect(one.out).toContain('1 op = 1 read(s)');
    expect(eight.out).toContain('1 op = 8 read(s)');
    expect(eight.out).toContain('options readsPerOp=8');
    // Same reads in total, same per-read cost: within 15% (per-op overhead aside), far from the 8x an ops count gives.
    expect(eight.value / one.value).toBeGreaterThan(0.85);
    expect(eight.value / one.value).toBeLessThan(1.15);
    // run's own summary line counts reads the same way.
    const run = runCli(['run', 'fio-randread', '--ops', '20', '--cpus', '2', '--option', 'readsPerOp=8', '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/simulated \(spr\): [\d,]+ reads per simulated second \(8 per op\)/);
  }, 120_000);

  it('refuses bad input with one line and exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['--variant', 'asi-off,asi-on', '--profile', 'nope'], /--profile: unknown profile "nope"/],
      [['--variant', 'asi-off,asi-on', '--metric', 'warpSpeed'], /--metric "warpSpeed" is not a metric of this scenario: use readsPerSimSecond/],
      [['--variant', 'asi-off,asi-bogus'], /asi-bogus/],
      [['--variant', 'asi-off', '--samples', '0'], /--samples 0 is out of range: use 1\.\.1000/],
      [[], /give --variant/],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(['compare', 'fio-randread', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  }, 60_000);
});
