import { describe, expect, it } from 'vitest';
import { expectCleanRun } from '../engine/clean-run.js';
import { loadEngine } from '../engine/helpers.js';

// reclaim-mprotect without injected bugs, on 4 CPUs: kswapd really unmaps
// with deferred flushes, writes back and evicts while the threads write and
// mprotect; nothing stale is used, every page reads back what was written
// (evicted pages come back from the file), and nothing leaks.
describe('reclaim-mprotect without injected bugs', () => {
  it('evicts with batched flushes, faults writes after each downgrade, and stays clean', async () => {
    const s = await expectCleanRun({ scenario: 'reclaim-mprotect' });
    expect(s['reclaimDeferred']).toBeGreaterThan(10);
    expect(s['reclaimBatchFlushes']).toBeGreaterThan(5);
    expect(s['reclaimWritebacks']).toBeGreaterThan(5);
    expect(s['reclaimEvicted']).toBeGreaterThan(5);
    expect(s['expectedSegv']).toBeGreaterThan(10);
    expect(s['writes']).toBeGreaterThan(1000);
  });

  it('rejects options it cannot run with, naming the value', async () => {
    const { runFree } = await loadEngine();
    await expect(runFree({ scenario: 'reclaim-mprotect', cpus: 4, seconds: 1, options: { protPages: 16 } }))
      .rejects.toThrow(/protPages=16 is invalid/);
    await expect(runFree({ scenario: 'reclaim-mprotect', cpus: 4, seconds: 1, options: { mode: 'processes' } }))
      .rejects.toThrow(/mode=processes/);
  });
});
