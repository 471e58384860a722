import { describe, it } from 'vitest';
import { expectCaught, wiredTlbBugs } from './bug-detection.js';

const BUGS = wiredTlbBugs(['tlb-flush2', 'tlb-flush2-shared', 'tlb-flush2-mixed']);

describe('injected TLB bugs caught by the tlb-flush2 scenarios', () => {
  it('covers the bugs the catalogue assigns them', () => {
    if (BUGS.length < 5) throw new Error(`only ${BUGS.join(', ')}`);
  });
  it.each(BUGS)('%s is reported on 4 CPUs within a few seconds', async (bug) => {
    await expectCaught(bug);
  });
});
