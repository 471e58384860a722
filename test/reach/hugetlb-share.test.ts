// New machinery (issue 11): hugetlb-style shared PMD tables. The default
// soak set's hugetlb-share has processes map one hugetlbfs file over the
// same 1 GiB range (sharing its PMD table) and unmap it again; it runs
// clean, and catches the real fix reverted on that path (CVE-2021-4002,
// a4a118f2eead: no flush after huge_pmd_unshare) with its default options,
// on seeds that were not used to tune it (from 500).
import { describe, expect, it } from 'vitest';
import { BUG_CATALOG } from '../../src/check/bugs.js';
import { SCENARIOS } from '../../src/workloads/index.js';
import { catalogueOptions, caughtFromSeed500, found, reachRun, stat } from './catalogue.js';

const BUG = 'hugetlb-unshare-no-flush';

describe('hugetlb shared PMD tables in the default soak set', () => {
  it('hugetlb-share is in the default soak set and the catalogue names it for the bug, with no extra options', () => {
    expect(SCENARIOS.map((s) => s.name)).toContain('hugetlb-share');
    expect(BUG_CATALOG.find((b) => b.name === BUG)!.scenario).toBe('hugetlb-share');
    expect(catalogueOptions(BUG)).toEqual({});
  });

  it('runs clean while processes share and unshare the table', async () => {
    const r = await reachRun('hugetlb-share', 500, {});
    expect(r.fault).toBeNull();
    expect(found(r)).toBe(0);
    expect(stat(r, 'hugetlbShares')).toBeGreaterThan(0);
    expect(stat(r, 'hugetlbUnshares')).toBeGreaterThan(0);
  }, 60_000);

  it(`${BUG} (reverted fix) is caught with the default options`, async () => {
    const r = await caughtFromSeed500('hugetlb-share', BUG, {});
    expect(r.violationRecords[0]!.kindName).toBe('unmapped-access');
  }, 180_000);
});
