// tools/replay-coverage.ts: its table counts only what replayed, and its
// median is over the shrinks whose smallest line replayed.
import { describe, expect, it } from 'vitest';
import { type BugResult, type HuntJson, huntCommand, isScenarioBug, median, noteOfHunt, parseArgs, renderMarkdown } from '../../tools/replay-coverage.js';

const base: BugResult = {
  bug: 'b', scenario: 's', note: '', signature: 'violation:x', replay: 'shootdown run s ...', replays: true, huntSeconds: 1,
  reproduced: 1, of: 2, smallest: 'shootdown run s ...', cpus: [4, 2], totalOps: [400, 100], reduction: 0.75, shrinkCut: false, shrinkSeconds: 1, smallestReplays: true,
};

describe('replay-coverage table', () => {
  it('median of an odd and an even list, none of an empty one', () => {
    expect(median([0.5, 0.1, 0.9])).toBe(0.5);
    expect(median([0.2, 0.4, 0.6, 0.8])).toBeCloseTo(0.5);
    expect(median([])).toBeNull();
  });

  it('counts replays and shrinks honestly and keeps allocator bugs apart', () => {
    const md = renderMarkdown([
      base,
      { ...base, bug: 'c', reduction: 0.25, shrinkCut: true },
      { ...base, bug: 'd', replay: null, replays: false, reduction: null, smallest: null, smallestReplays: false, note: 'no serialized schedule reproduced it' },
      { ...base, bug: 'e', smallestReplays: false, reduction: 0.99 },
      { ...base, bug: 'f', scenario: 'check:allocator', replay: null, replays: false, reduction: null, smallest: null, smallestReplays: false },
    ]);
    expect(md).toMatch(/^\| c \| s \| violation:x \| yes \| 1 of 2 \| 4 -> 2 \| 400 -> 100 \| 25% \(budget\) \| yes \|/m);
    expect(md).toMatch(/^\| e \| .* \| 99% \| NO \|/m);
    expect(md.trim().split('\n').pop()).toBe('3 of 4 scenario bugs replayed; 2 shrunk to a case that replays; median reduction of total ops 50%; 1 allocator bugs have no scenario run (unit tests only).');
    expect(isScenarioBug({ name: 'x', layer: 'alloc', scenario: 'golden:claim-at-half', args: [] })).toBe(false);
    expect(isScenarioBug({ name: 'x', layer: 'tlb', scenario: 'munmap-storm', args: [] })).toBe(true);
  });
});

describe('replay-coverage hunt command', () => {
  const bug = { name: 'zap-dirty-flush-after-unlock', layer: 'tlb', scenario: 'shared-file-writeback', args: ['--cpus', '4', '--seconds', '20', '--option', 'zapPercent=10'] };

  it('runs hunt on the catalog scenario and arguments, without the catalog run length', () => {
    const args = huntCommand(bug, parseArgs(['--hunt-seconds', '90', '--sample', '2']));
    expect(args.slice(0, 2)).toEqual(['hunt', 'shared-file-writeback']);
    expect(args.join(' ')).toContain('--cpus 4 --option zapPercent=10 --inject zap-dirty-flush-after-unlock --seconds 90 --sample 2');
    expect(args.filter((x) => x === '--seconds')).toHaveLength(1);
    expect(args).not.toContain('--max-ops');
  });

  it('passes --max-ops to hunt (a free run that fails only after tens of thousands of ops needs it)', () => {
    const args = huntCommand(bug, parseArgs(['--max-ops', '60000']));
    expect(args[args.indexOf('--max-ops') + 1]).toBe('60000');
  });
});

describe('replay-coverage hunt outcome', () => {
  const h: HuntJson = { signature: 'violation:readback', replay: 'shootdown run s --engine serialized', reproduced: 1, of: 2, exact: true };

  it('an exact line adds no note; no failure or no schedule stops the chain with its reason', () => {
    expect(noteOfHunt(h, 60)).toBe('');
    expect(noteOfHunt({ ...h, signature: null, replay: null }, 60)).toBe('the free engine did not fail in 30 s');
    expect(noteOfHunt({ ...h, replay: null }, 60)).toBe('no serialized schedule reproduced violation:readback in the budget');
  });

  it('a found line that hunt could not replay to the same digest is said to be no exact replay', () => {
    expect(noteOfHunt({ ...h, exact: false }, 60)).toMatch(/another digest: not an exact replay/);
  });
});
