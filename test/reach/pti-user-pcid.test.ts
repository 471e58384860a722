// New machinery (issue 11 item 4): PTI's user PCID. The default soak set's
// munmap-storm, with --option pti=1, runs user accesses under the user
// PCID while its siblings unmap and free the pages they touched; it runs
// clean under IPI flushes and under INVLPGB with global ASIDs, and catches
// the real fix reverted on that path (6fd166aae78c: a kernel-mode flush
// also marks the user PCID for a flush at the next return to user mode)
// on seeds that were not used to tune it (from 500).
import { describe, expect, it } from 'vitest';
import { BUG_CATALOG } from '../../src/check/bugs.js';
import { SCENARIOS } from '../../src/workloads/index.js';
import { loadEngine } from '../engine/helpers.js';

const SECONDS = 3;
const MAX_SEEDS = 6;
const BUG = 'pti-no-user-pcid-flush';

async function run(seed: number, options: Record<string, string | number>, inject: string[] = []) {
  const { runFree } = await loadEngine();
  return runFree({ scenario: 'munmap-storm', cpus: 4, seconds: SECONDS, seed, inject, onFault: 'return', options });
}

const found = (r: Awaited<ReturnType<typeof run>>): number => r.violations + (r.endCheck?.violations.length ?? 0);

describe('the PTI user PCID in the default soak set', () => {
  it('munmap-storm is in the default soak set and the catalogue names it, with pti=1, for the bug', () => {
    expect(SCENARIOS.map((s) => s.name)).toContain('munmap-storm');
    const b = BUG_CATALOG.find((x) => x.name === BUG)!;
    expect(b.scenario).toBe('munmap-storm');
    expect(b.args.join(' ')).toContain('pti=1');
  });

  it.each([
    ['IPI flushes', { pti: 1 }],
    ['INVLPGB with global ASIDs', { pti: 1, variant: 'invlpgb' }],
  ] as const)('runs clean with %s', async (_label, options) => {
    const r = await run(500, options);
    expect(r.fault).toBeNull();
    expect(r.ops).toBeGreaterThan(1000);
    expect(found(r)).toBe(0);
  }, 60_000);

  it(`${BUG} (reverted fix) is caught with the catalogue's arguments from seed 500`, async () => {
    const tried: string[] = [];
    for (let seed = 500; seed < 500 + MAX_SEEDS; seed++) {
      const r = await run(seed, { pti: 1 }, [BUG]);
      expect(r.fault).toBeNull();
      if (found(r) > 0) {
        expect(r.violationRecords[0]!.kindName).toBe('stale-tlb');
        return;
      }
      tried.push(`seed ${seed}: ${r.ops} ops`);
    }
    expect.fail(`${BUG} not caught by munmap-storm: ${tried.join('; ')}`);
  }, 120_000);
});
