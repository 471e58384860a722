import { describe, it } from 'vitest';
import { expectCaught } from './bug-detection.js';

describe('drop-invalidate-other: caught by fixmap-switch under PTI', () => {
  it('a flush_tlb_one_kernel that forgets invalidate_other is reported on 4 CPUs within a few seconds', async () => {
    await expectCaught('drop-invalidate-other');
  });
});
