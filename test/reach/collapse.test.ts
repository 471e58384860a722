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
import { catalogueOptions, caughtFromSeed500, found, reachRun, stat } from './catalogue.js';

const BUG = 'collapse-no-gup-sync';

describe('khugepaged collapse of mapped ranges in the default soak set', () => {
  it('munmap-storm is in the default soak set and the catalogue names it for the bug', () => {
    expect(SCENARIOS.map((s) => s.name)).toContain('munmap-storm');
    expect(BUG_CATALOG.find((b) => b.name === BUG)!.scenario).toBe('munmap-storm');
  });

  it.each([
    ['IPI flushes, default options', {}],
    ['INVLPGB, the catalogue\'s stalls', catalogueOptions(BUG)],
  ] as const)('runs clean with %s while khugepaged collapses mapped ranges', async (_label, options) => {
    const r = await reachRun('munmap-storm', 500, options);
    expect(r.fault).toBeNull();
    expect(found(r)).toBe(0);
    expect(stat(r, 'collapsed')).toBeGreaterThan(0);
  }, 60_000);

  it(`${BUG} (reverted fix) is caught with the catalogue's arguments`, async () => {
    const r = await caughtFromSeed500('munmap-storm', BUG, catalogueOptions(BUG));
    expect(r.violationRecords[0]!.kindName).toBe('sw-walk-freed-table');
    expect(r.violationRecords[0]!.swWalker).toBe('gup_fast');
  }, 180_000);
});
