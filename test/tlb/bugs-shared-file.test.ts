import { describe, expect, it } from 'vitest';
import { expectCaught, wiredTlbBugs } from './bug-detection.js';

// shared-file-writeback's default verifyBefore check (a page reads back the
// previous step's value before it is rewritten) is what sees the lost write.
const BUGS = wiredTlbBugs(['shared-file-writeback']);

describe('injected TLB bugs caught by shared-file-writeback', () => {
  it('covers zap-dirty-flush-after-unlock', () => {
    expect(BUGS).toContain('zap-dirty-flush-after-unlock');
  });
  it.each(BUGS)('%s is reported on 4 CPUs within a few seconds', async (bug) => {
    await expectCaught(bug);
  }, 120_000);
});
