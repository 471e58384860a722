// Structured logs (pino, main thread only) and the progress bar of
// compare: --log FILE holds JSON lines with the milestones (run start and
// end, each sample), a bad --log-level is one line and exit 2, and the bar
// shows on a terminal only.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'logs-'));

function jsonLines(file: string): Record<string, unknown>[] {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('--log and --log-level', () => {
  it('compare --log writes JSON lines: compare start, each run\'s start and sample done (with its metric values), compare end', () => {
    const log = join(dir, 'compare.jsonl');
    const r = runCli(['compare', 'tlb-flush2', '--variant', 'asi-off,asi-on', '--samples', '2', '--ops', '30', '--cpus', '2',
      '--metric', 'loopsPerSimSecond', '--log', log]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = jsonLines(log);
    const events = lines.map((l) => l['event']);
    expect(events[0]).toBe('compare start');
    expect(events[events.length - 1]).toBe('compare end');
    expect(events.filter((e) => e === 'run start')).toHaveLength(4);
    const done = lines.filter((l) => l['event'] === 'sample done');
    expect(done.map((l) => `${String(l['variant'])}/${String(l['seed'])}`)).toEqual(['asi-off/1', 'asi-on/1', 'asi-off/2', 'asi-on/2']);
    for (const l of done) {
      expect(l['level']).toBe(30);
      expect(l['ops']).toBe(60);
      expect((l['values'] as Record<string, number>)['loopsPerSimSecond']).toBeGreaterThan(0);
    }
    // One process wrote them all: the main thread (workers never log).
    expect(new Set(lines.map((l) => l['pid'])).size).toBe(1);
  }, 120_000);

  it('run --log records run start and run end with the violations; --log-level warn leaves the file empty', () => {
    const log = join(dir, 'run.jsonl');
    const r = runCli(['run', 'tlb-flush2', '--ops', '20', '--cpus', '2', '--no-progress', '--log', log]);
    expect(r.code).toBe(0);
    const lines = jsonLines(log);
    expect(lines.map((l) => l['event'])).toEqual(['run start', 'run end']);
    expect(lines[1]!['violations']).toBe(0);
    expect(lines[1]!['stoppedBy']).toBe('ops');
    const quiet = join(dir, 'quiet.jsonl');
    expect(runCli(['run', 'tlb-flush2', '--ops', '20', '--cpus', '2', '--no-progress', '--log', quiet, '--log-level', 'warn']).code).toBe(0);
    expect(readFileSync(quiet, 'utf8')).toBe('');
  }, 120_000);

  it('a bad level or log path is one line and exit 2', () => {
    const bad = runCli(['compare', 'tlb-flush2', '--variant', 'asi-off', '--log-level', 'chatty']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/chatty/);
    expect(bad.stderr).toMatch(/info/);
    const nodir = runCli(['run', 'tlb-flush2', '--ops', '5', '--log', join(dir, 'no', 'such', 'log.jsonl')]);
    expect(nodir.code).toBe(2);
    expect(nodir.stderr).toMatch(/--log ".*log\.jsonl": directory .* does not exist/);
  }, 60_000);
});

describe('compare progress', () => {
  it('on a terminal, a bar with runs, elapsed, remaining, ops/s and violations; none with --no-progress', async () => {
    const args = ['compare', 'tlb-flush2', '--variant', 'asi-off,asi-on', '--samples', '2', '--ops', '300', '--cpus', '2', '--metric', 'loopsPerSimSecond'];
    const live = startCli(args, true);
    await live.waitFor(/compare \[.*\] \d\/4 runs \| elapsed \S+ \| remaining \S+ \| [\d,]+ ops\/s \| \d+ violations/, 90_000);
    expect((await live.exited).code).toBe(0);
    const quiet = startCli([...args, '--no-progress'], true);
    expect((await quiet.exited).code).toBe(0);
    expect(quiet.output()).not.toMatch(/compare \[/);
    expect(quiet.output()).toContain('loopsPerSimSecond');
  }, 180_000);
});
