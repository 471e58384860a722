// A soak survives a CPU worker that dies mid-run: the failed run is
// recorded (fault line, replay line), the other runs' results are saved,
// and the soak goes on with --keep-going or stops with a valid summary.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers.js';
import { decodeReportFile } from '../../src/report/report-file.js';

interface SoakResult { scenario: string; seed: number; passed: boolean; fault: string; rerun: string; failures: string[] }
interface Summary {
  complete: boolean; jobs: number; runs: number; passed: number; faults: number; keepGoing: boolean; minutes: number; seeds: number;
  elapsedSeconds: number; stoppedAtFailure?: string; results: SoakResult[];
}

const dirs: string[] = [];
function outDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'soak-faults-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const BASE = ['soak', '--scenarios', 'tlb-flush2,munmap-storm', '--seeds', '2', '--seconds', '1', '--cpus', '2', '--no-progress'];

describe('a soak whose CPU worker is killed', () => {
  it('with --keep-going records the failed run with its fault and replay line, keeps every other result, exits 1', () => {
    const out = outDir();
    // Seed 1's runs: CPU 1's worker thread exits at op 50 as if killed.
    const r = runCli([...BASE, '--keep-going', '--test-crash', '1:1:50:exit', '--out', out, '--format', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/shootdown: soak: 2 of 4 runs failed their checks\n$/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    expect(JSON.parse(r.stdout)).toEqual(summary);
    expect(summary).toMatchObject({ complete: true, jobs: 4, runs: 4, passed: 2, faults: 2, keepGoing: true });
    for (const res of summary.results) {
      if (res.seed === 1) {
        expect(res.passed).toBe(false);
        expect(res.fault).toBe('CPU 1 faulted in op 50: Error: worker thread died: worker exited with code: 86');
        expect(res.rerun).toBe(`shootdown run ${res.scenario} --cpus 2 --seed 1 --mem 16M --seconds 1 --variant asi-off --watchdog-ms 5000 --test-crash 1:50:exit`);
      } else {
        expect(res).toMatchObject({ passed: true, fault: '', failures: [] });
      }
    }
    // Every run's report is on disk, the failed ones with their fault.
    expect(readdirSync(out).sort()).toEqual(['munmap-storm-seed1.pb', 'munmap-storm-seed2.pb', 'summary.json', 'tlb-flush2-seed1.pb', 'tlb-flush2-seed2.pb']);
    const failed = decodeReportFile(readFileSync(join(out, 'tlb-flush2-seed1.pb')));
    expect(failed['stoppedBy']).toBe('fault');
    expect(String(failed['fault'])).toMatch(/^CPU 1 faulted in op 50/);
    const good = decodeReportFile(readFileSync(join(out, 'munmap-storm-seed2.pb')));
    expect(good['stoppedBy']).toBe('time');
    expect(good['fault']).toBe('');
  });

  it('without --keep-going stops after the failed run with a valid summary naming it, exits 1', () => {
    const out = outDir();
    // Seed 2: tlb-flush2 seed 1 passes first, then tlb-flush2 seed 2 throws.
    const r = runCli([...BASE, '--test-crash', '2:0:30:throw', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stopped at the first failure \(tlb-flush2 seed 2; --keep-going runs on\)/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    expect(summary).toMatchObject({ complete: false, jobs: 4, runs: 2, passed: 1, faults: 1, stoppedAtFailure: 'tlb-flush2 seed 2' });
    expect(summary.results[1]!.fault).toBe('CPU 0 faulted in op 30: Error: test crash of CPU 0 at op 30');
    expect(readdirSync(out).sort()).toEqual(['summary.json', 'tlb-flush2-seed1.pb', 'tlb-flush2-seed2.pb']);
  });
});

describe('a soak\'s summary on disk', () => {
  it('names the run in progress and its rerun line before the run starts, with the finished ones', async () => {
    const out = outDir();
    // No --no-progress: the line per run (stderr is a pipe, no bar) says when run 2 starts.
    const cli = startCli(['soak', '--scenarios', 'tlb-flush2', '--seeds', '2', '--seconds', '3', '--cpus', '2', '--out', out], false);
    await cli.waitFor('soak: 2/2 tlb-flush2 seed 2');
    const during = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary & { running: { scenario: string; seed: number; rerun: string } };
    expect(during.complete).toBe(false);
    expect(during.results.map((x) => x.seed)).toEqual([1]);
    // The counts a finished summary has, as they stand (a crash leaves these).
    expect(during).toMatchObject({ runs: 1, passed: 1, faults: 0 });
    expect(during.elapsedSeconds).toBeGreaterThan(2);
    expect(during.running).toEqual({ scenario: 'tlb-flush2', seed: 2, rerun: 'shootdown run tlb-flush2 --cpus 2 --seed 2 --mem 16M --seconds 3 --variant asi-off --watchdog-ms 5000' });
    expect((await cli.exited).code).toBe(0);
    const after = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary & { running?: unknown };
    expect(after).toMatchObject({ complete: true, runs: 2, passed: 2 });
    expect(after.running).toBeUndefined();
  });
});

describe('soak --minutes', () => {
  it('runs seed after seed over the scenarios until the budget is spent, and is complete', () => {
    const out = outDir();
    const t0 = Date.now();
    const r = runCli(['soak', '--scenarios', 'tlb-flush2,ipi-storm', '--minutes', '0.1', '--seconds', '1', '--cpus', '2', '--no-progress', '--out', out, '--format', 'json']);
    const ms = Date.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as Summary;
    // No seed count: the runs went on until the time was spent.
    expect(summary).toMatchObject({ complete: true, minutes: 0.1, seeds: 0 });
    expect(summary.runs).toBeGreaterThanOrEqual(2);
    // The table's header names the seeds the runs reached, not a --seeds range.
    const table = runCli(['report', 'show', join(out, 'summary.json')]);
    const last = Math.max(...summary.results.map((x) => x.seed));
    expect(table.stdout).toContain(`seeds 1..${last} (0.1 min budget)`);
    expect(summary.passed).toBe(summary.runs);
    // Scenarios alternate at each seed: tlb-flush2 1, ipi-storm 1, tlb-flush2 2, ...
    expect(summary.results.slice(0, 2).map((x) => `${x.scenario}:${x.seed}`)).toEqual(['tlb-flush2:1', 'ipi-storm:1']);
    expect(ms).toBeGreaterThanOrEqual(6000);
    expect(readdirSync(out).filter((f) => f.endsWith('.pb'))).toHaveLength(summary.runs);
  });

  it('refuses a bad value with one line', () => {
    const r = runCli(['soak', '--minutes', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('shootdown: --minutes "soon" is not a duration: use a number of minutes above 0 and at most 10080 (7 days), e.g. 30 or 0.5\n');
  });
});
