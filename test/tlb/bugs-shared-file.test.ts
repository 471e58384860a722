// zap-dirty-flush-after-unlock leaves a zapped dirty shared PTE cached on
// other CPUs after its PTE lock is dropped. The writeback ghost check
// (src/check/ghost-writeback.ts) sees the window itself: kswapd writes the
// page back while a CPU still holds the dirty, writable entry
// (writeback-dirty-cached), within a few hundred ops. The lost store the
// window allows, read back from the file by verifyBefore (readback), takes
// about 10^5 ops per catch, minutes on a loaded host: that detection runs
// only with SHOOTDOWN_LONG_TESTS=1, with the ghost check's kind excluded.
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';
import { expectCaught, wiredTlbBugs } from './bug-detection.js';

const BUGS = wiredTlbBugs(['shared-file-writeback']);
const LONG = process.env['SHOOTDOWN_LONG_TESTS'] === '1';
const SECONDS = 5;
const MAX_SEEDS = 40;
const MIN_OPS = 250_000;

describe('injected TLB bugs caught by shared-file-writeback', () => {
  it('covers zap-dirty-flush-after-unlock', () => {
    expect(BUGS).toContain('zap-dirty-flush-after-unlock');
  });

  it('zap-dirty-flush-after-unlock is caught on 4 CPUs, default options', async () => {
    await expectCaught('zap-dirty-flush-after-unlock');
  }, 240_000);

  it.runIf(LONG)('zap-dirty-flush-after-unlock makes a page read back an older value (readback) on 4 CPUs, default options', async () => {
    const { runFree } = await loadEngine();
    const tried: string[] = [];
    let ops = 0;
    for (let seed = 500; seed < 500 + MAX_SEEDS && (seed < 503 || ops < MIN_OPS); seed++) {
      const r = await runFree({
        scenario: 'shared-file-writeback', cpus: 4, seconds: SECONDS, seed, inject: ['zap-dirty-flush-after-unlock'],
        onFault: 'return', options: {},
      });
      expect(r.fault).toBeNull();
      if (r.violationKinds.some((v) => v.kind === 'readback' && v.count > 0)) return;
      ops += r.ops;
      tried.push(`seed ${seed}: ${r.ops} ops`);
    }
    expect.fail(`zap-dirty-flush-after-unlock: no readback (${tried.join('; ')})`);
  }, 600_000);

  it('runs clean without the bug (verifyBefore on, zapPercent=50 for more discards)', async () => {
    const { runFree } = await loadEngine();
    const r = await runFree({ scenario: 'shared-file-writeback', cpus: 4, seconds: SECONDS, seed: 500, onFault: 'return', options: { zapPercent: 50 } });
    expect(r.fault).toBeNull();
    expect(r.ops).toBeGreaterThan(1000);
    expect(r.violations + (r.endCheck?.violations.length ?? 0)).toBe(0);
  }, 60_000);
});
