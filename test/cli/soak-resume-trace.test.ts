// soak --resume with --trace (issue 10): a finished run keeps its trace
// file byte for byte; the trace of a run that did not finish (killed before
// its report, interrupted, torn report) is removed before that run starts
// again, so a second interruption never leaves an old trace beside the new
// run looking like its trace; a killed writer's temporary file goes too; a
// finished run's torn trace is removed (the run is kept).
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';
import { decodeReportFile, encodeReportFile } from '../../src/report/report-file.js';
import { decodeTraceFile } from '../../src/trace/file.js';
import { prepareSoakDir } from '../../src/cli/soak-dir.js';

const tmp = mkdtempSync(join(tmpdir(), 'soak-resume-trace-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const JOBS = [{ scenario: 'ipi-storm', seed: 1 }, { scenario: 'tlb-flush2', seed: 1 }];
const SOAK = ['soak', '--scenarios', 'ipi-storm,tlb-flush2', '--seeds', '1', '--seconds', '0.3', '--cpus', '2', '--trace', 'ring', '--no-progress'];
const SHARD = { index: 1, count: 1 };
/** A soak directory with both runs finished, made once. */
const base = join(tmp, 'base');

beforeAll(() => {
  const r = runCli([...SOAK, '--out', base]);
  expect(r.code, r.stderr).toBe(0);
  for (const j of JOBS) {
    expect(existsSync(join(base, `${j.scenario}-seed1.pb`))).toBe(true);
    expect(decodeTraceFile(readFileSync(join(base, `${j.scenario}-seed1.trc`))).header.scenario).toBe(j.scenario);
  }
});

function copyOf(name: string): string {
  const d = join(tmp, name);
  cpSync(base, d, { recursive: true });
  return d;
}

describe('soak --resume --trace', () => {
  it('keeps a finished run\'s trace byte for byte and rewrites the trace of the run killed before its report (torn trace and writer leftover removed)', () => {
    const d = copyOf('killed');
    const keptTrace = readFileSync(join(d, 'ipi-storm-seed1.trc'));
    // tlb-flush2's run was killed: no report, a torn trace (e.g. copied mid-write), the trace writer's temporary file.
    rmSync(join(d, 'tlb-flush2-seed1.pb'));
    truncateSync(join(d, 'tlb-flush2-seed1.trc'), Math.floor(readFileSync(join(d, 'tlb-flush2-seed1.trc')).length / 2));
    writeFileSync(join(d, '.tlb-flush2-seed1.trc.4242.deadbeef.tmp'), 'SHOOTTRC partial');
    const r = runCli([...SOAK, '--out', d, '--resume', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/soak: --resume removed trace tlb-flush2-seed1\.trc \(its run did not finish/);
    expect(r.stderr).toMatch(/soak: --resume removed trace \.tlb-flush2-seed1\.trc\.4242\.deadbeef\.tmp/);
    const summary = JSON.parse(r.stdout) as { results: { scenario: string; resumed: boolean }[] };
    expect(summary.results.map((x) => [x.scenario, x.resumed])).toEqual([['ipi-storm', true], ['tlb-flush2', false]]);
    expect(readFileSync(join(d, 'ipi-storm-seed1.trc')).equals(keptTrace)).toBe(true);
    const rerun = decodeTraceFile(readFileSync(join(d, 'tlb-flush2-seed1.trc')));
    const report = decodeReportFile(readFileSync(join(d, 'tlb-flush2-seed1.pb')));
    expect(rerun.header.scenario).toBe('tlb-flush2');
    expect(rerun.header.seed).toBe(Number(report['seed']));
    expect(rerun.end.stoppedBy).toBe(String(report['stoppedBy']));
    expect(readdirSync(d).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('removes an interrupted run\'s complete trace before the run starts again, and a finished run\'s torn trace; --force removes traces and leftovers', () => {
    const d = copyOf('interrupted');
    // tlb-flush2 was stopped by a first SIGINT: its report says interrupted, its trace is whole (stoppedBy interrupted).
    const report = decodeReportFile(readFileSync(join(d, 'tlb-flush2-seed1.pb')));
    writeFileSync(join(d, 'tlb-flush2-seed1.pb'), encodeReportFile({ ...report, interrupted: true, interruptSignal: 'SIGINT' }));
    // ipi-storm finished, but its trace file is torn (a disk error after the fact).
    truncateSync(join(d, 'ipi-storm-seed1.trc'), 40);
    const out = prepareSoakDir(d, JOBS, SHARD, { resume: true, force: false });
    // Right after the directory is prepared (before any run: a kill now must leave nothing misleading).
    expect([...out.done.keys()]).toEqual(['ipi-storm-seed1.pb']);
    expect(existsSync(join(d, 'tlb-flush2-seed1.trc'))).toBe(false);
    expect(existsSync(join(d, 'ipi-storm-seed1.trc'))).toBe(false);
    expect(existsSync(join(d, 'ipi-storm-seed1.pb'))).toBe(true);
    expect(out.removedTraces.join('\n')).toMatch(/tlb-flush2-seed1\.trc \(its run did not finish/);
    expect(out.removedTraces.join('\n')).toMatch(/ipi-storm-seed1\.trc \(is torn/);

    // A directory holding only this soak's traces is a used one; --force clears traces and leftovers.
    const f = copyOf('force');
    for (const j of JOBS) rmSync(join(f, `${j.scenario}-seed1.pb`));
    rmSync(join(f, 'summary.json'));
    writeFileSync(join(f, '.ipi-storm-seed1.pb.77.abc123.tmp'), '');
    expect(() => prepareSoakDir(f, JOBS, SHARD, { resume: false, force: false })).toThrow(/already holds results of this soak \(2 file\(s\)/);
    prepareSoakDir(f, JOBS, SHARD, { resume: false, force: true });
    expect(readdirSync(f)).toEqual([]);
  });
});
