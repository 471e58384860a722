// New machinery (issue 11): a lockless GUP-fast walker and the table-free
// synchronisation it depends on. The default soak set's munmap-storm pins
// its siblings' pages with get_user_pages_fast (gupPercent, on by default)
// while they unmap and free the tables it walks; it runs clean under IPI
// flushes and INVLPGB, and catches the real fix reverted on that path
// (a37259732a7d: tables flushed by INVLPGB freed without waiting for the
// walkers) on seeds that were not used to tune it (from 500). The catalogue
// arguments stall CPUs only inside gup_fast (stallSites), where a vCPU
// preempted with interrupts off would be; the bug is in the free, not there.
import { describe, expect, it } from 'vitest';
import { BUG_CATALOG } from '../../src/check/bugs.js';
import { SCENARIOS } from '../../src/workloads/index.js';
import { catalogueOptions, caughtFromSeed500, found, reachRun, stat } from './catalogue.js';

const BUG = 'invlpgb-table-free-no-sync';

describe('gup_fast against page-table frees in the default soak set', () => {
  it('munmap-storm is in the default soak set and the catalogue names it for the bug', () => {
    expect(SCENARIOS.map((s) => s.name)).toContain('munmap-storm');
    expect(BUG_CATALOG.find((b) => b.name === BUG)!.scenario).toBe('munmap-storm');
  });

  it.each([
    ['IPI flushes, default options', {}],
    ['INVLPGB, the catalogue\'s stalls', catalogueOptions(BUG)],
  ] as const)('runs clean with %s while gup_fast pins pages', async (_label, options) => {
    const r = await reachRun('munmap-storm', 500, options);
    expect(r.fault).toBeNull();
    expect(found(r)).toBe(0);
    expect(stat(r, 'gupFast') - stat(r, 'gupFastMisses')).toBeGreaterThan(0);
  }, 60_000);

  it(`${BUG} (reverted fix) is caught with the catalogue's arguments`, async () => {
    const r = await caughtFromSeed500('munmap-storm', BUG, catalogueOptions(BUG));
    expect(r.violationRecords[0]!.kindName).toBe('sw-walk-freed-table');
    expect(r.violationRecords[0]!.swWalker).toBe('gup_fast');
  }, 180_000);
});
