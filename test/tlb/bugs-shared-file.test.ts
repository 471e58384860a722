import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';
import { wiredTlbBugs } from './bug-detection.js';

// shared-file-writeback's default verifyBefore check (a page reads back the
// previous step's value before it is rewritten) is what sees the lost write
// of zap-dirty-flush-after-unlock. With the catalogued defaults it needs
// about 10^5 ops per catch (10 of 10 seeds in 20 s at 4 CPUs on an idle
// host: README "Reverted fixes"), more than a few seconds do on a loaded
// one; zapPercent=50 (a discard in half the steps instead of a tenth)
// widens it about tenfold, which is what this short form runs.
const BUGS = wiredTlbBugs(['shared-file-writeback']);
const SECONDS = 4;
const MAX_SEEDS = 24;
/** A miss counts only after this much work (a loaded host does a fraction of its usual ops). */
const MIN_OPS = 60_000;

describe('injected TLB bugs caught by shared-file-writeback', () => {
  it('covers zap-dirty-flush-after-unlock', () => {
    expect(BUGS).toContain('zap-dirty-flush-after-unlock');
  });

  it('zap-dirty-flush-after-unlock makes a page read back an older value (readback) on 4 CPUs', async () => {
    const { runFree } = await loadEngine();
    const tried: string[] = [];
    let ops = 0;
    for (let seed = 500; seed < 500 + MAX_SEEDS && (seed < 503 || ops < MIN_OPS); seed++) {
      const r = await runFree({
        scenario: 'shared-file-writeback', cpus: 4, seconds: SECONDS, seed, inject: ['zap-dirty-flush-after-unlock'],
        onFault: 'return', options: { zapPercent: 50 },
      });
      expect(r.fault).toBeNull();
      if (r.violations > 0) return;
      ops += r.ops;
      tried.push(`seed ${seed}: ${r.ops} ops`);
    }
    expect.fail(`zap-dirty-flush-after-unlock not caught: ${tried.join('; ')}`);
  }, 150_000);

  it('the same short form runs clean without the bug', async () => {
    const { runFree } = await loadEngine();
    const r = await runFree({ scenario: 'shared-file-writeback', cpus: 4, seconds: SECONDS, seed: 500, onFault: 'return', options: { zapPercent: 50 } });
    expect(r.fault).toBeNull();
    expect(r.ops).toBeGreaterThan(1000);
    expect(r.violations + (r.endCheck?.violations.length ?? 0)).toBe(0);
  }, 60_000);
});
