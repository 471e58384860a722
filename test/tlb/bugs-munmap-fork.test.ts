import { describe, it } from 'vitest';
import { expectCaught, wiredTlbBugs } from './bug-detection.js';

const BUGS = wiredTlbBugs(['munmap-storm', 'fork-cow']);

describe('injected TLB bugs caught by munmap-storm and fork-cow', () => {
  it('covers the bugs the catalogue assigns them', () => {
    if (BUGS.length < 5) throw new Error(`only ${BUGS.join(', ')}`);
  });
  it.each(BUGS)('%s is reported on 4 CPUs within a few seconds', async (bug) => {
    await expectCaught(bug);
  });
});
