// The ASI address-space bugs, each caught by its catalogued scenario (with
// the catalogue's variant and options) on 4 CPUs within a few seconds.
import { describe, it } from 'vitest';
import { expectCaught } from '../tlb/bug-detection.js';

describe('ASI address-space bugs are caught by their scenario', () => {
  it('asi-clear-curr-before-cr3 (fio-randread, asi-on, IPIs landing in asi_exit)', async () => {
    await expectCaught('asi-clear-curr-before-cr3');
  }, 120_000);
});
