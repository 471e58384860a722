// New machinery (issue 11): khugepaged collapsing an anonymous range that
// still maps pages (copy, then a new table; src/kernel/mm/collapse.ts).
// The default soak set's munmap-storm maps its threads' whole 2 MiB chunks
// now and then (chunkPercent), which khugepaged collapses while siblings
// pin the pages with get_user_pages_fast; it runs clean under IPI flushes
// and INVLPGB, and catches the real fix reverted on that path
// (2ba99c5e0881: no IPI round before the old table is freed, so a gup_fast
// walk under INVLPGB is still inside it) on seeds that were not used to
// tune it (from 500). The catalogue arguments stall CPUs inside gup_fast
// and make khugepaged busier; the bug is in the collapse, not there.
import { describe, expect, it } from 'vitest';
import { BUG_CATALOG } from '../../src/check/bugs.js';
import { SCENARIOS } from '../../src/workloads/index.js';
import { loadEngine } from '../engine/helpers.js';
import { catalogueOptions } from './catalogue.js';

const SECONDS = 3;
const MIN_OPS = 40_000;
const MAX_SEEDS = 10;
const BUG = 'collapse-no-gup-sync';

async function run(seed: number, options: Record<string, string | number>, inject: string[] = []) {
  const { runFree } = await loadEngine();
  return runFree({ scenario: 'munmap-storm', cpus: 4, seconds: SECONDS, seed, inject, onFault: 'return', options });
}

const found = (r: Awaited<ReturnType<typeof run>>): number => r.violations + (r.endCheck?.violations.length ?? 0);
const stat = (r: Awaited<ReturnType<typeof run>>, key: string): number =>
  r.perCpu.reduce((n, c) => n + ((c.summary as Record<string, number>)[key] ?? 0), 0);

describe('khugepaged collapse of mapped ranges in the default soak set', () => {
  it('munmap-storm is in the default soak set and the catalogue names it for the bug', () => {
    expect(SCENARIOS.map((s) => s.name)).toContain('munmap-storm');
    expect(BUG_CATALOG.find((b) => b.name === BUG)!.scenario).toBe('munmap-storm');
  });

  it.each([
    ['IPI flushes, default options', {}],
    ['INVLPGB, the catalogue\'s stalls', catalogueOptions(BUG)],
  ] as const)('runs clean with %s while khugepaged collapses mapped ranges', async (_label, options) => {
    const r = await run(500, options);
    expect(r.fault).toBeNull();
    expect(found(r)).toBe(0);
    expect(stat(r, 'collapsed')).toBeGreaterThan(0);
  }, 60_000);

  it(`${BUG} (reverted fix) is caught with the catalogue's arguments`, async () => {
    const tried: string[] = [];
    let ops = 0;
    for (let seed = 500; seed < 500 + MAX_SEEDS && (seed < 504 || ops < MIN_OPS); seed++) {
      const r = await run(seed, catalogueOptions(BUG), [BUG]);
      expect(r.fault).toBeNull();
      if (found(r) > 0) {
        expect(r.violationRecords[0]!.kindName).toBe('sw-walk-freed-table');
        expect(r.violationRecords[0]!.swWalker).toBe('gup_fast');
        return;
      }
      ops += r.ops;
      tried.push(`seed ${seed}: ${r.ops} ops`);
    }
    expect.fail(`${BUG} not caught by munmap-storm: ${tried.join('; ')}`);
  }, 180_000);
});
