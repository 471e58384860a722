import { describe, it } from 'vitest';
import { expectCaught } from './bug-detection.js';

describe('switch-mm-no-fence (CVE-2025-40174): caught through the TSO store buffer', () => {
  it('a switch_mm without smp_mb() on the bit-already-set path is reported on 4 CPUs within a few seconds', async () => {
    await expectCaught('switch-mm-no-fence');
  });
});
