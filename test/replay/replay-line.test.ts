// A replay line is one command that states every input of a serialized
// run; parsing it gives back exactly the case it was printed from.
import { describe, expect, it } from 'vitest';
import { formatReplayLine, parseReplayLine, ReplayLineError, splitCommandLine, type ReplayCase } from '../../src/replay/replay-line.js';
import { rerunCommand } from '../../src/cli/run-once.js';
import { defaultShape } from '../../native-layout/shape.js';

const CASE: ReplayCase = {
  scenario: 'ephmap-copy', cpus: 3, seed: 7, memMiB: 64, ops: 250, variant: 'asi-on+ephmap', inject: ['kmap-no-unmap-flush', 'ephmap-double-alloc'],
  options: { map: 'kmap', evictPercent: 0, label: 'two words' }, watchdogMs: 4000, profile: 'spr-ibpb', schedSeed: 12, sched: 'pct', preemptions: 5,
};

describe('a replay line', () => {
  it('writes every field, defaults included, and parses back to the same case', () => {
    const line = formatReplayLine(CASE);
    for (const flag of ['--cpus 3', '--seed 7', '--mem 64M', '--ops 250', '--variant asi-on+ephmap', '--watchdog-ms 4000', '--profile spr-ibpb',
      '--engine serialized', '--sched-seed 12', '--sched pct', '--preemptions 5', '--inject kmap-no-unmap-flush', "--option 'label=two words'"]) {
      expect(line).toContain(flag);
    }
    expect(parseReplayLine(line)).toEqual(CASE);
    // With a program prefix, --flag=value spelling and flags a replay ignores.
    expect(parseReplayLine(`npx ${line.replace('--cpus 3', '--cpus=3')} --no-progress --format json`)).toEqual(CASE);
  });

  it('is what a serialized run records as its replay line', () => {
    const line = rerunCommand({
      scenario: 'munmap-storm', shape: defaultShape({ cpus: 2, memBytes: 16 * 2 ** 20 }), seed: 3, variant: 'asi-off', inject: [], watchdogMs: 5000,
      ops: 40, engine: 'serialized', schedSeed: 9, sched: 'random', preemptions: 2,
    });
    expect(parseReplayLine(line)).toEqual({
      scenario: 'munmap-storm', cpus: 2, seed: 3, memMiB: 16, ops: 40, variant: 'asi-off', inject: [], options: {}, watchdogMs: 5000,
      profile: 'spr', schedSeed: 9, sched: 'random', preemptions: 2,
    });
  });

  it('refuses what does not replay exactly, naming why', () => {
    expect(() => parseReplayLine('shootdown run tlb-flush2 --cpus 2 --ops 10')).toThrow(/only a serialized run .* replays exactly/);
    expect(() => parseReplayLine('shootdown run tlb-flush2 --engine serialized')).toThrow(/no --ops/);
    expect(() => parseReplayLine('shootdown run tlb-flush2 --ops 5 --engine serialized --sched fair')).toThrow(/--sched "fair" is not one of: random, pct/);
    expect(() => parseReplayLine('shootdown run tlb-flush2 --ops 5 --engine serialized --seconds 3')).toThrow(ReplayLineError);
    expect(() => parseReplayLine('shootdown compare x')).toThrow(/not a replay line/);
    expect(() => splitCommandLine("run 'x")).toThrow(/unclosed/);
  });
});
