// The counters the cost model added (src/kernel/account.ts): one syscall
// per emulated system call, one page copy per 4 KiB copied, one context
// switch per switch to another task. Counted against what the scenarios
// themselves tally (reads, madvises, forks, exits, CPU switches).
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';

type Tally = Record<string, number>;

async function run(scenario: string, options: Record<string, string | number>): Promise<{ totals: Tally; stats: Tally }> {
  const { runFree } = await loadEngine();
  const r = await runFree({ scenario, cpus: 4, ops: 600, seed: 3, options });
  expect(r.violations).toBe(0);
  expect(r.endCheck).toEqual({ violations: [], framesLost: 0 });
  const stats: Tally = {};
  for (const c of r.perCpu) {
    for (const [k, v] of Object.entries(c.summary as Tally)) stats[k] = (stats[k] ?? 0) + v;
  }
  return { totals: r.totals as unknown as Tally, stats };
}

describe('cost-model counters', () => {
  it('fio-randread: a syscall per read and per discard, a page copy per read', async () => {
    const { totals, stats } = await run('fio-randread', { variant: 'asi-off', discardEvery: 8 });
    expect(stats['reads']).toBeGreaterThan(1000);
    expect(stats['madvises']).toBeGreaterThan(100);
    expect(totals['syscalls']).toBe(stats['reads']! + stats['madvises']!);
    expect(totals['pageCopies']).toBe(stats['reads']);
  }, 60_000);

  it('kernel-compile: fork and exit are syscalls, copy-on-write copies pages beyond read()\'s, and every switch counts', async () => {
    const { totals, stats } = await run('kernel-compile', { variant: 'asi-off' });
    expect(stats['forks']).toBeGreaterThan(0);
    expect(stats['exits']).toBeGreaterThan(0);
    // The rest of the syscalls are read()s (the scenario maps nothing after set-up), one copy each.
    const readCalls = totals['syscalls']! - stats['forks']! - stats['exits']!;
    expect(readCalls).toBeGreaterThan(0);
    expect(totals['pageCopies']).toBeGreaterThan(readCalls);
    expect(totals['contextSwitches']).toBe(stats['switches']);
  }, 60_000);

  it('fio-randread lays its file out before the run and keeps each reader on its CPU (the calibration\'s workload)', async () => {
    const warm = await run('fio-randread', { variant: 'asi-off', discardEvery: 0 });
    const cold = await run('fio-randread', { variant: 'asi-off', discardEvery: 0, prefill: 0, pin: 0 });
    // Prefilled: no page-cache page is allocated during the run (the few allocations left are kernel-thread pages).
    expect(warm.totals['allocs']).toBeLessThan(60);
    expect(cold.totals['allocs']).toBeGreaterThan(200);
    expect(warm.stats['steals']).toBe(0);
  }, 60_000);
});
