// compare for the issue-8 scenarios: their per-op metrics exist (and are
// accepted by --metric), guest-memfd's default set has no ASI-exit metric,
// and ASI-exit tables that are 0 for every variant are left out of the
// terminal output (named on one line; JSON keeps them).
import { describe, expect, it } from 'vitest';
import { defaultMetricsFor, isAllZeroAsiMetric, metricsFor, summarize } from '../../src/report/compare.js';
import type { RunReportObject } from '../../src/report/run-report.js';
import { runCli } from '../cli/helpers.js';

const fake = (totals: Record<string, number>): RunReportObject => ({ opsPerSimSecond: 1, simElapsedMs: 1, opsPerSec: 1, totals }) as unknown as RunReportObject;

describe('compare metrics for guest_memfd and mshare', () => {
  it('per-op metrics read the issue-8 counters', () => {
    const names = ['gmemKernelFlushesPerOp', 'directMapSplitsPerOp', 'pageTablesForDirectMapPerOp', 'mshareCpusInterruptedPerOp',
      'notifierCallsPerOp', 'iotlbInvalidationsPerOp'];
    const ms = metricsFor('guest-memfd').filter((m) => names.includes(m.name));
    expect(ms.map((m) => m.name).sort()).toEqual([...names].sort());
    const r = fake({ ops: 200, gmemKernelFlushes: 50, directMapSplits: 4, pageTablesForDirectMap: 6, mshareCpusInterrupted: 300, notifierCalls: 20, iotlbInvalidations: 2 });
    expect(Object.fromEntries(ms.map((m) => [m.name, m.read(r)]))).toEqual({
      gmemKernelFlushesPerOp: 0.25, directMapSplitsPerOp: 0.02, pageTablesForDirectMapPerOp: 0.03, mshareCpusInterruptedPerOp: 1.5,
      notifierCallsPerOp: 0.1, iotlbInvalidationsPerOp: 0.01,
    });
  });

  it('defaults: guest-memfd without ASI-exit metrics but with its own; mshare its own; other scenarios unchanged', () => {
    const gm = defaultMetricsFor('guest-memfd').map((m) => m.name);
    expect(gm.some((n) => n.startsWith('asiExits'))).toBe(false);
    expect(gm).toContain('gmemKernelFlushesPerOp');
    expect(gm).not.toContain('mshareFlushesPerOp');
    const ms = defaultMetricsFor('mshare').map((m) => m.name);
    expect(ms).toContain('mshareCpusInterruptedPerOp');
    expect(ms).toContain('asiExitsPerOp');
    expect(defaultMetricsFor('tlb-flush2').map((m) => m.name)).toEqual(metricsFor('tlb-flush2').map((m) => m.name).filter((n) => !/^(gmem|directMap|pageTablesForDirectMap|recursion|notifier|iotlb|mshare)/.test(n)));
  });

  it('an ASI-exit metric is all-zero only when every variant is 0', () => {
    const exits = metricsFor('tlb-flush2').filter((m) => m.name === 'asiExitsPerOp');
    const zero = summarize(exits, new Map([['a', [fake({ ops: 10 })]], ['b', [fake({ ops: 10 })]]]));
    const some = summarize(exits, new Map([['a', [fake({ ops: 10 })]], ['b', [fake({ ops: 10, asiExits: 1 })]]]));
    expect(isAllZeroAsiMetric(zero[0]!)).toBe(true);
    expect(isAllZeroAsiMetric(some[0]!)).toBe(false);
  });

  it('compare guest-memfd prints no ASI-exit table and accepts --metric gmemKernelFlushesPerOp', () => {
    const r = runCli(['compare', 'guest-memfd', '--variant', 'per-folio,freetype', '--samples', '1', '--cpus', '2', '--ops', '200',
      '--metric', 'gmemKernelFlushesPerOp,asiExitsPerOp', '--no-progress'], 120_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('gmemKernelFlushesPerOp (flushes/op, lower is better)');
    expect(r.stdout).not.toContain('asiExitsPerOp (');
    expect(r.stdout).toContain('asiExitsPerOp: 0 for every variant (tables left out; --format json has them)');
    // freetype converts pageblocks, not folios: fewer kernel flushes than per-folio.
    const row = (v: string): number => Number(new RegExp(`\\| ${v} +\\| 1 +\\| ([\\d.,]+)`).exec(r.stdout)![1]!.replace(/,/g, ''));
    expect(row('freetype')).toBeLessThan(row('per-folio'));
  }, 120_000);
});
