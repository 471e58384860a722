// Issue 12's fault-injection test: --out onto a full filesystem. A 64 KiB
// tmpfs is mounted for the test (needs root, as in the CI container); a
// filler file takes all of it, or all but one page so that a report larger
// than a page is torn mid-write. Checks the exit code, a message naming the
// file, the results intact on stdout, and no file on disk that a reader
// accepts as a clean run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeReportFile } from '../../src/report/report-file.js';
import { runCli } from './helpers.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'shootdown-fulldisk-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]).status === 0;
if (!mounted) console.warn(`full-disk tests skipped: cannot mount a tmpfs at ${mountPoint} (needs root)`);

/** Fills the filesystem, leaving `leaveBytes` free (whole pages). */
function fill(leaveBytes: number): void {
  for (const f of readdirSync(mountPoint)) rmSync(join(mountPoint, f), { recursive: true, force: true });
  const free = (): number => {
    const df = spawnSync('df', ['-B1', '--output=avail', mountPoint], { encoding: 'utf8' });
    return Number(df.stdout.trim().split('\n')[1]);
  };
  writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(Math.max(0, free() - leaveBytes)));
  expect(free()).toBe(leaveBytes);
}

/** No file under the mount point, except the filler, reads as a report. */
function expectNoAcceptedReport(): void {
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const f of walk(mountPoint).filter((p) => !p.endsWith('/filler'))) {
    expect(() => decodeReportFile(readFileSync(f)), f).toThrow();
  }
}

describe.skipIf(!mounted)('--out on a full filesystem', () => {
  beforeAll(() => expect(mounted).toBe(true));
  afterAll(() => {
    spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('run: exit 4, one line naming the file, the report intact on stdout, nothing readable left', () => {
    fill(0);
    const out = join(mountPoint, 'r.pb');
    const r = runCli(['run', 'ipi-storm', '--cpus', '2', '--seconds', '0.5', '--format', 'json', '--out', out]);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^shootdown: could not write "${out}": ENOSPC`));
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ scenario: 'ipi-storm', cpus: 2, stoppedBy: 'time' });
    expect(j.totals.ops).toBeGreaterThan(0);
    expect(readdirSync(mountPoint)).toEqual(['filler']); // no temporary file left behind
    expectNoAcceptedReport();
  });

  it('run: a report bigger than the space left is torn mid-write, and still no file a reader accepts', () => {
    fill(4096);
    const out = join(mountPoint, 'big.pb');
    // An injected bug makes a report with violation records and trace
    // events of 16 CPUs: over 20 KiB in every run tried, so the write fails
    // after its first page (checked below: stdout alone is bigger than a page).
    const r = runCli(['run', 'munmap-storm', '--cpus', '16', '--seconds', '1', '--inject', 'ceiling-partial-flush', '--format', 'json', '--out', out]);
    expect(r.code).toBe(4); // the file error outranks the violation (exit 1), which is still said
    expect(r.stderr).toMatch(/^shootdown: run munmap-storm: \d+ violation\(s\)/m);
    expect(r.stderr).toMatch(new RegExp(`^shootdown: could not write "${out}": ENOSPC`, 'm'));
    const j = JSON.parse(r.stdout);
    expect(j.totals.violations).toBeGreaterThan(0);
    expect(Buffer.byteLength(r.stdout)).toBeGreaterThan(4096);
    expectNoAcceptedReport();
  });

  it('soak: exit 4, the failing file named, the summary on stdout, nothing readable left', () => {
    fill(0);
    const dir = join(mountPoint, 'soak');
    const r = runCli(['soak', '--scenarios', 'ipi-storm', '--seeds', '2', '--seconds', '0.3', '--cpus', '2', '--format', 'json', '--out', dir]);
    expect(r.code).toBe(4);
    // The summary naming the first run is written before that run starts
    // (issue 10: a crash must leave what to replay); on a full disk that
    // write fails, and the soak stops before spending time on a run whose
    // report could not be kept either.
    expect(r.stderr).toMatch(new RegExp(`^shootdown: could not write "${dir}/summary\\.json": ENOSPC`, 'm'));
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ complete: false, runs: 0, jobs: 2 });
    expect(s.writeError).toMatch(/summary\.json/);
    expectNoAcceptedReport();
  });
});
