// The deadlock-class bugs (SEMANTICS.md §10), each caught on flip-storm by
// the lockdep-style checker (src/check/lockdep.ts) before the machine
// hangs: the run stops with a lock-order / flush-under-lock /
// sleep-in-atomic record, never with a fault or a watchdog report.
import { describe, expect, it } from 'vitest';
import { BUG_CATALOG } from '../../src/check/bugs.js';
import { loadEngine } from '../engine/helpers.js';
import { expectCaught } from '../tlb/bug-detection.js';

const KIND: Record<string, string> = {
  'flush-under-zone-lock': 'flush-under-lock',
  'noblock-ignored': 'sleep-in-atomic',
  'zone-under-pcp-inversion': 'lock-order',
};

describe('deadlock-class bugs are caught by lockdep on flip-storm', () => {
  for (const bug of Object.keys(KIND)) {
    it(`${bug} (${KIND[bug]})`, async () => {
      expect(BUG_CATALOG.find((b) => b.name === bug)!.scenario).toBe('flip-storm');
      await expectCaught(bug);
    }, 120_000);
  }

  it('the record names the kind, and the run stops by lockdep with no fault', async () => {
    const { runFree } = await loadEngine();
    const r = await runFree({ scenario: 'flip-storm', cpus: 4, seconds: 4, seed: 3, inject: ['noblock-ignored'], onFault: 'return', options: {} });
    expect(r.fault).toBeNull();
    expect(r.stoppedBy).toBe('lockdep');
    expect(r.violationRecords[0]?.kindName).toBe('sleep-in-atomic');
    expect(r.lockdep).toMatch(/^sleep-in-atomic: cpu \d entered asi-flip/);
  }, 60_000);
});
