// shrink: a smaller case that still fails the same way, every kept step a
// real replay line. For a few bugs: the smallest case has no more CPUs and
// no more ops than the start, and running its line fails with the same kind.
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/helpers.js';
import { parseReplayLine, runArgsOf } from '../../src/replay/replay-line.js';

// Serialized cases that fail (found by `hunt`; the replay line is exact, so they fail every time).
const START = {
  'free-before-flush': 'shootdown run tlb-flush2-shared --cpus 4 --seed 1 --mem 16M --ops 100 --variant asi-off --watchdog-ms 5000 --profile spr --inject free-before-flush --engine serialized --sched-seed 1 --sched random --preemptions 2',
  'ephmap-skip-local-flush': 'shootdown run ephmap-copy --cpus 4 --seed 1 --mem 16M --ops 100 --variant asi-off --watchdog-ms 5000 --profile spr --inject ephmap-skip-local-flush --engine serialized --sched-seed 1 --sched random --preemptions 2',
};

interface ShrinkJson {
  signature: string; start: string; smallest: string; steps: string[]; runs: number; cut: boolean;
  cpus: [number, number]; ops: [number, number]; totalOps: [number, number]; reduction: number; replays: boolean;
}

describe('shootdown shrink', () => {
  it.each(Object.entries(START))('%s: the smallest case has no more CPUs or ops and still fails the same way', (_bug, line) => {
    const r = runCli(['shrink', line, '--seconds', '15', '--seeds', '2', '--format', 'json'], 120_000);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as ShrinkJson;
    expect(out.signature).toMatch(/^violation:/);
    expect(out.replays).toBe(true);
    const start = parseReplayLine(line);
    const small = parseReplayLine(out.smallest);
    expect(small.cpus).toBeLessThanOrEqual(start.cpus);
    expect(small.ops).toBeLessThanOrEqual(start.ops);
    expect(out.totalOps[1]).toBeLessThan(out.totalOps[0]);
    expect(out.steps.length).toBeGreaterThan(0);
    // Everything else is the start's: scenario, seed, bug.
    expect(small.scenario).toBe(start.scenario);
    expect(small.inject).toEqual(start.inject);
    // The printed line, run as a user would, fails with the same kind.
    const again = runCli(['run', ...runArgsOf(out.smallest), '--format', 'json']);
    expect(again.code).toBe(1);
    const report = JSON.parse(again.stdout) as { violationRecords: { kind: string }[] };
    expect(`violation:${report.violationRecords[0]!.kind}`).toBe(out.signature);
  });

  it('refuses a case that does not fail (exit 1) and a line that is not a serialized replay (exit 2)', () => {
    const clean = runCli(['shrink', 'shootdown run tlb-flush2 --cpus 2 --ops 20 --engine serialized --sched-seed 1', '--seconds', '10']);
    expect(clean.code).toBe(1);
    expect(clean.stderr).toMatch(/the case passed: it does not reproduce a failure/);
    const free = runCli(['shrink', 'shootdown run tlb-flush2 --cpus 2 --seconds 2']);
    expect(free.code).toBe(2);
    expect(free.stderr).toMatch(/only a serialized run \(--engine serialized\) replays exactly/);
    const neither = runCli(['shrink']);
    expect(neither.code).toBe(2);
  });
});
