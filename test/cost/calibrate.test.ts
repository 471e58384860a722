// bench/calibrate.ts's solver: given counts, the two solved costs put the
// variants exactly on the published ratios, whichever CPU is the busiest.
import { describe, expect, it } from 'vitest';
import { TARGET_RATIO, fitCosts, throughputs, type Sample } from '../../bench/calibrate.js';
import { parseProfile } from '../../src/cost/profile.js';

const profile = parseProfile('t', {
  name: 't', ghz: 2, costs: [
    { event: 'asiExits', cycles: 0, fitted: true }, { event: 'syscalls', cycles: 0, fitted: true },
    { event: 'invlpg', cycles: 240, source: 'x' }, { event: 'pageFaults', cycles: 1500, fitted: true },
  ],
});

const cpu = (cpu: number, c: Record<string, number>) => ({ cpu, counters: { ops: 100, syscalls: 100, ...c } });

describe('calibration solver', () => {
  it('solves the IBPB and syscall costs that give -70% and -13.1%, picking each run\'s busiest CPU', () => {
    const samples: Sample[] = [
      { variant: 'asi-off', perCpu: [cpu(0, {}), cpu(1, { pageFaults: 3 })] },
      { variant: 'asi-on', perCpu: [cpu(0, { asiExits: 100, pageFaults: 100 }), cpu(1, { asiExits: 98, pageFaults: 99 })] },
      { variant: 'asi-on+ephmap', perCpu: [cpu(0, { asiExits: 1, invlpg: 100 }), cpu(1, { asiExits: 2, invlpg: 99 })] },
    ];
    const { x } = fitCosts(profile, samples);
    expect(x.every((v) => v > 0)).toBe(true);
    const fitted = { ...profile, costs: profile.costs.map((c) => (c.event === 'asiExits' ? { ...c, cycles: x[0]! } : c.event === 'syscalls' ? { ...c, cycles: x[1]! } : c)) };
    const t = throughputs(fitted, samples);
    expect(t.get('asi-on')! / t.get('asi-off')!).toBeCloseTo(TARGET_RATIO['asi-on'], 6);
    expect(t.get('asi-on+ephmap')! / t.get('asi-off')!).toBeCloseTo(TARGET_RATIO['asi-on+ephmap'], 6);
  });
});
