// A serialized run of a design module prints an exact replay line that
// carries --design FILE (without it the line names a variant `run` does
// not know), and that line replays the same violations; hunt and shrink,
// which run built-in variants only, refuse --design with one line; and two
// --design on run (no --variant to choose) are refused, not "last wins".
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/helpers.js';
import { splitCommandLine } from '../../dist/src/replay/replay-line.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BROKEN = join(REPO, 'examples', 'ephmap8-lazy-broken.mjs');
const LAZY = join(REPO, 'examples', 'ephmap8-lazy.mjs');

describe('--design and replay lines', () => {
  it('the exact replay line of a serialized design run has --design and replays the same violations', () => {
    const first = runCli(['run', 'fio-randread', '--design', BROKEN, '--engine', 'serialized', '--cpus', '2', '--ops', '50', '--format', 'json']);
    const report = JSON.parse(first.stdout) as { rerun: string; totals: { violations: number }; digest: string };
    expect(report.totals.violations).toBeGreaterThan(0);
    expect(report.rerun).toContain(`--design ${BROKEN}`);
    const args = splitCommandLine(report.rerun).slice(1);
    const again = runCli([...args, '--format', 'json']);
    const replayed = JSON.parse(again.stdout) as { totals: { violations: number }; digest: string; design: string };
    expect(replayed.design).toBe('ephmap8-lazy-broken');
    expect(replayed.totals.violations).toBe(report.totals.violations);
    expect(replayed.digest).toBe(report.digest);
    // shrink refuses the line with one line, exit 2.
    const s = runCli(['shrink', report.rerun]);
    expect(s.code).toBe(2);
    expect(s.stderr.trim().split('\n')).toHaveLength(1);
    expect(s.stderr).toMatch(/replay line has --design: shrink and hunt run built-in variants only/);
  }, 60_000);

  it('hunt refuses --design with one line, exit 2', () => {
    const h = runCli(['hunt', 'fio-randread', '--design', LAZY]);
    expect(h.code).toBe(2);
    expect(h.stderr.trim().split('\n')).toHaveLength(1);
    expect(h.stderr).toMatch(/unknown option '--design'/);
  });

  it('two --design on run are refused unless --variant picks one', () => {
    const r = runCli(['run', 'fio-randread', '--design', LAZY, '--design', BROKEN, '--cpus', '2', '--ops', '20']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--design given 2 times .*run runs one design; pick one with --variant NAME/);
    const picked = runCli(['run', 'fio-randread', '--design', LAZY, '--design', BROKEN, '--variant', 'ephmap8-lazy', '--cpus', '2', '--ops', '20', '--format', 'json']);
    expect(picked.code).toBe(0);
    expect((JSON.parse(picked.stdout) as { design: string }).design).toBe('ephmap8-lazy');
  }, 60_000);
});
