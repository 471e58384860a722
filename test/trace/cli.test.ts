// Trace files end to end (issue 10): `run --trace`, byte-identical traces
// from two serialized runs of one replay line, a partial trace kept on
// SIGINT, and bad input refused with one line.
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTraceFile } from '../../src/trace/file.js';
import { runCli, startCli } from '../cli/helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'shootdown-trace-cli-'));
const SERIALIZED = ['run', 'tlb-flush2', '--cpus', '3', '--ops', '80', '--engine', 'serialized', '--no-progress'];

/**
 * The trace of one SERIALIZED run (schedule seed 1) in `mode`, written once
 * per file and shared by the tests that read it: each asserts something
 * else about the same output, and a serialized run of 3 CPUs is seconds of
 * the suite each time.
 */
const traces = new Map<string, string>();
function serializedTrace(mode: 'full' | 'ring'): string {
  let f = traces.get(mode);
  if (f === undefined) {
    f = join(tmp(), `${mode}.trc`);
    const r = runCli([...SERIALIZED, '--sched-seed', '1', '--trace', f, '--trace-mode', mode]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`trace: \\d+ events \\(${mode} mode[,)]`));
    traces.set(mode, f);
  }
  return f;
}

describe('run --trace', () => {
  it('two serialized runs of one configuration write byte-identical trace files (full mode, nothing lost); another schedule seed does not', () => {
    const dir = tmp();
    const files = [serializedTrace('full'), join(dir, 'b.trc'), join(dir, 'c.trc')];
    for (const [i, f] of files.entries()) {
      if (i === 0) continue;
      const r = runCli([...SERIALIZED, '--sched-seed', i === 2 ? '2' : '1', '--trace', f, '--trace-mode', 'full']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/trace: \d+ events \(full mode\)/);
    }
    const [a, b, c] = files.map((f) => readFileSync(f));
    const t = decodeTraceFile(a!);
    expect(t.end.lost).toEqual([0, 0, 0]);
    expect(t.events.length).toBeGreaterThan(1000);
    expect(t.header).toMatchObject({ engine: 'serialized', schedSeed: 1, mode: 'full', cpus: 3 });
    expect(t.header.replay).toContain('--engine serialized --sched-seed 1');
    expect(Buffer.compare(a!, b!)).toBe(0);
    expect(Buffer.compare(a!, c!)).not.toBe(0);
    // The serialized order is exact: sequence numbers are dense after boot (no gaps, no repeats).
    const seqs = t.events.map((e) => e.seq);
    const last = seqs[seqs.length - 1]!;
    expect(new Set(seqs.filter((s) => s > 50)).size).toBe(seqs.filter((s) => s > 50).length);
    expect(seqs.filter((s) => s > 50).length).toBe(last - 50);
  }, 120_000);

  it('ring mode keeps the last ring of every CPU and counts the rest as lost', () => {
    const f = serializedTrace('ring');
    const t = decodeTraceFile(readFileSync(f));
    expect(t.header.mode).toBe('ring');
    expect(t.events.length).toBe(3 * t.header.ringEntries);
    expect(t.end.lost.every((n) => n > 0)).toBe(true);
    const text = runCli(['trace', 'show', f, '--cpu', '2', '--kind', 'walk,tlb-fill']);
    expect(text.code).toBe(0);
    const rows = text.stdout.trim().split('\n').slice(4);
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) expect(row).toMatch(/^\s*\d+\s+2\s+\d+\s+(walk|tlb-fill)\s/);
  }, 60_000);

  it('a SIGINT during a full trace still finishes the file: valid, marked interrupted, with the events so far', async () => {
    const f = join(tmp(), 'int.trc');
    const cli = startCli(['run', 'tlb-flush2', '--cpus', '2', '--seconds', '60', '--no-progress', '--trace', f, '--trace-mode', 'full'], false);
    // Signal once the run is under way (its trace has events on disk), not
    // after a fixed delay: a loaded host may take longer than any delay to
    // start the CPUs, and a signal before the run began tests nothing here.
    // (The writer fills a temporary file beside f and renames it at the end.)
    const dir = dirname(f);
    const started = (): boolean => readdirSync(dir).some((n) => n.startsWith('.int.trc.') && statSync(join(dir, n)).size > 4096);
    const deadline = Date.now() + 45_000;
    while (!started() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(started(), 'the run never started writing its trace').toBe(true);
    cli.kill('SIGINT');
    const { code } = await cli.exited;
    expect(code).toBe(130);
    const t = decodeTraceFile(readFileSync(f));
    expect(t.end.stoppedBy).toBe('interrupted');
    expect(t.events.length).toBeGreaterThan(0);
    expect(t.end.written.reduce((x, y) => x + y, 0)).toBe(t.events.length);
  }, 60_000);

  it('trace show --around centres on an op and --format json carries the raw arguments', () => {
    const f = serializedTrace('full');
    const r = runCli(['trace', 'show', f, '--around', '40', '--context', '3', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { events: { seq: number; op: number; cpu: number; kind: string; a: number }[] };
    expect(j.events).toHaveLength(7);
    expect(j.events[3]!.op).toBe(40);
    expect(j.events.map((e) => e.seq)).toEqual([...j.events.map((e) => e.seq)].sort((x, y) => x - y));
  }, 60_000);

  it('records every violation as an event, and trace show --around violation shows what led to it (free-before-flush: the frees come before the flush)', () => {
    const f = join(tmp(), 'v.trc');
    const run = runCli(['run', 'tlb-flush2-shared', '--cpus', '4', '--ops', '60', '--inject', 'free-before-flush', '--engine', 'serialized',
      '--no-progress', '--trace', f, '--trace-mode', 'full']);
    expect(run.code).toBe(1);
    const t = decodeTraceFile(readFileSync(f));
    const violations = t.events.filter((e) => t.header.kindNames[e.kind] === 'violation');
    expect(violations.length).toBeGreaterThan(0);
    const r = runCli(['trace', 'show', f, '--around', 'violation', '--context', '30', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { events: { seq: number; cpu: number; kind: string; args: string }[] };
    const at = j.events.findIndex((e) => e.kind === 'violation');
    expect(at).toBe(30);
    const pfn = /pfn (\d+)/.exec(j.events[at]!.args)![1];
    // The frame the stale translation reaches was freed before the flush that should have covered it.
    const before = j.events.slice(0, at);
    expect(before.some((e) => e.kind === 'free' && e.args.startsWith(`pfn ${pfn} `))).toBe(true);
  }, 60_000);

  it('soak --trace writes one valid trace per run beside its report', () => {
    const dir = join(tmp(), 'soak');
    const r = runCli(['soak', '--scenarios', 'fio-randread', '--seeds', '2', '--seconds', '1', '--cpus', '2', '--out', dir, '--trace', 'full', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    for (const seed of [1, 2]) {
      const t = decodeTraceFile(readFileSync(join(dir, `fio-randread-seed${seed}.trc`)));
      expect(t.header).toMatchObject({ scenario: 'fio-randread', seed, mode: 'full', engine: 'free' });
      expect(t.events.length).toBeGreaterThan(0);
    }
  }, 90_000);

  it.each([
    [['run', 'tlb-flush2', '--ops', '5', '--trace', '/tmp/x.trc', '--trace-mode', 'all'], /--trace-mode "all".*ring, full|--trace-mode.*all/],
    [['run', 'tlb-flush2', '--ops', '5', '--trace', '/nonexistent-dir/x.trc'], /--trace "\/nonexistent-dir\/x.trc": directory/],
  ])('run refuses %j with one line, exit 2', (args, msg) => {
    const r = runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
  });

  it('trace show / export refuse bad options with one line naming the value and the choices, exit 2', () => {
    const f = serializedTrace('ring');
    const cases: [string[], RegExp][] = [
      [['trace', 'show', f, '--kind', 'tlb-hit'], /--kind "tlb-hit" is not an event kind: use alloc, free/],
      [['trace', 'show', f, '--around', 'soon'], /--around "soon" is invalid: use an op number/],
      [['trace', 'show', f, '--cpu', '3'], /--cpu/],
      [['trace', 'show', f, '--format', 'xml'], /--format/],
      [['trace', 'export', f, '--format', 'svg'], /--format/],
      [['trace', 'show', join(tmp(), 'missing.trc')], /cannot read/],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  }, 60_000);
});
