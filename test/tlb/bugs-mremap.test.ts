import { describe, expect, it } from 'vitest';
import { expectCleanRun } from '../engine/clean-run.js';
import { expectCaught, wiredTlbBugs } from './bug-detection.js';

// CVE-2018-18281 (mremap vs ftruncate): mremap-truncate runs clean with the
// old range flushed under the PTE locks, and catches the pre-2018 order.
describe('mremap-truncate and mremap-flush-after-unlock', () => {
  it('the catalogue assigns the bug to mremap-truncate', () => {
    expect(wiredTlbBugs(['mremap-truncate'])).toContain('mremap-flush-after-unlock');
    expect(wiredTlbBugs(['mremap-truncate'])).toContain('mremap-pmd-no-rmap-lock');
  });

  it('without the bug: no violation, a clean end-of-run check, no lost frame, while moves and truncations really ran', async () => {
    const s = await expectCleanRun({ scenario: 'mremap-truncate', seconds: 3 });
    expect(s['mremaps']).toBeGreaterThan(10);
    expect(s['tableMoves']).toBeGreaterThan(0);
    expect(s['truncates']).toBeGreaterThan(10);
    expect(s['expectedSegv']).toBeGreaterThan(0);
  });

  it('mremap-flush-after-unlock is reported on 4 CPUs within a few seconds', async () => {
    await expectCaught('mremap-flush-after-unlock');
  });

  it('mremap-pmd-no-rmap-lock (CVE-2022-41222) is reported on 4 CPUs within a few seconds', async () => {
    await expectCaught('mremap-pmd-no-rmap-lock');
  });
});
