import { describe, it } from 'vitest';
import { expectCaught, wiredTlbBugs } from './bug-detection.js';

const BUGS = wiredTlbBugs(['reclaim-mprotect']);

describe('injected TLB bugs caught by reclaim-mprotect', () => {
  it('covers reclaim-batch-vs-mprotect', () => {
    if (!BUGS.includes('reclaim-batch-vs-mprotect')) throw new Error(`only ${BUGS.join(', ')}`);
  });
  it.each(BUGS)('%s is reported on 4 CPUs within a few seconds', async (bug) => {
    await expectCaught(bug);
  });
});
