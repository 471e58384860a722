// Issue 12, "signals and the terminal": the first SIGINT/SIGTERM stops the
// CPUs and keeps the partial results (printed, written, marked
// interrupted), exit 130/143; a second one exits at once; the terminal is
// restored (cursor shown, wrapping on) on every way out.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeReportFile } from '../../src/report/report-file.js';
import { startCli } from './helpers.js';

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const WRAP_OFF = '\x1b[?7l';
const WRAP_ON = '\x1b[?7h';

const hasScript = spawnSync('script', ['-qfec', 'true', '/dev/null']).status === 0;
if (!hasScript) console.warn('pseudo-terminal tests skipped: util-linux `script` is missing');

/** The bar changed the terminal, and the last change of each kind was undone. */
function expectTerminalRestored(out: string): void {
  expect(out).toContain(HIDE_CURSOR);
  expect(out).toContain(WRAP_OFF);
  expect(out.lastIndexOf(SHOW_CURSOR)).toBeGreaterThan(out.lastIndexOf(HIDE_CURSOR));
  expect(out.lastIndexOf(WRAP_ON)).toBeGreaterThan(out.lastIndexOf(WRAP_OFF));
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'shootdown-sig-'));

describe.skipIf(!hasScript)('Ctrl-C under a pseudo-terminal', () => {
  it('the first one stops the run: partial report printed and written, marked interrupted, exit 130, terminal restored', async () => {
    const out = join(tmp(), 'r.pb');
    const cli = startCli(['run', 'tlb-flush2', '--cpus', '2', '--seconds', '60', '--out', out], true);
    await cli.waitFor(/running \[.*\] 1\/60 s/); // the bar runs, a second has passed
    cli.type('\x03');
    const { code, ms } = await cli.exited;
    expect(code).toBe(130);
    expect(ms).toBeLessThan(40_000);
    const text = cli.output();
    expect(text).toMatch(/SIGINT: stopping the CPUs/);
    expect(text).toMatch(/\| total \|/);
    expect(text).toMatch(/INTERRUPTED by SIGINT: partial run/);
    expect(text).toMatch(/shootdown: run tlb-flush2: interrupted by SIGINT/);
    expectTerminalRestored(text);
    const r = decodeReportFile(readFileSync(out));
    expect(r).toMatchObject({ scenario: 'tlb-flush2', interrupted: true, interruptSignal: 'SIGINT', stoppedBy: 'interrupted', seconds: 60 });
    expect((r['totals'] as { ops: number }).ops).toBeGreaterThan(0);
    expect(r['durationMs'] as number).toBeLessThan(60_000);
  });

  it('a second one exits at once, without a report, and still restores the terminal', async () => {
    const out = join(tmp(), 'r.pb');
    // 16 CPUs take a while to stop on a 2-core host: the second Ctrl-C usually lands first.
    const cli = startCli(['run', 'tlb-flush2', '--cpus', '16', '--seconds', '60', '--out', out], true);
    await cli.waitFor(/running \[/);
    cli.type('\x03');
    await cli.waitFor('SIGINT: stopping the CPUs');
    cli.type('\x03');
    const { code } = await cli.exited;
    expect(code).toBe(130);
    const text = cli.output();
    if (text.includes('second SIGINT')) {
      expect(text).not.toMatch(/\| total \|/);
      expect(existsSync(out)).toBe(false);
    } else {
      // The first stop finished before the second key arrived: then the
      // partial report is complete and the run exited by the first path.
      expect(text).toMatch(/INTERRUPTED by SIGINT/);
    }
    expectTerminalRestored(text);
  });
});

describe('SIGTERM during a soak', () => {
  it('keeps the finished runs, writes the summary so far marked interrupted, exits 143; --resume completes it', async () => {
    const dir = tmp();
    const args = ['soak', '--scenarios', 'ipi-storm', '--seeds', '3', '--seconds', '2', '--cpus', '2', '--out', dir];
    const cli = startCli(args, false);
    await cli.waitFor('soak: 2/3');
    cli.kill('SIGTERM');
    const { code } = await cli.exited;
    expect(code).toBe(143);
    expect(cli.output()).toMatch(/soak: interrupted by SIGTERM after 1 of 3 runs \(resume with --resume --out /);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(s).toMatchObject({ complete: false, interrupted: true, interruptSignal: 'SIGTERM', runs: 1, jobs: 3, interruptedRun: 'ipi-storm seed 2' });
    expect(decodeReportFile(readFileSync(join(dir, 'ipi-storm-seed1.pb')))['interrupted']).toBe(false);
    // The run cut short is on disk, marked, and not counted as a result.
    expect(decodeReportFile(readFileSync(join(dir, 'ipi-storm-seed2.pb')))['interrupted']).toBe(true);

    const resumed = startCli([...args, '--resume', '--format', 'json'], false);
    const done = await resumed.exited;
    expect(done.code).toBe(0);
    const s2 = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(s2).toMatchObject({ complete: true, interrupted: false, runs: 3 });
    expect(s2.results.map((r: { seed: number; resumed: boolean }) => [r.seed, r.resumed])).toEqual([[1, true], [2, false], [3, false]]);
  });
});
