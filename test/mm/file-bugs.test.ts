import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';
import { detectionSeeds } from '../tlb/bug-detection.js';

// Injected TLB bugs the file-backed scenarios catch (the seed-retry pattern
// of test/tlb/bug-detection.ts, with the scenario named here rather than
// taken from the catalogue). tlb-flush3 never frees a page on its discards
// (the page cache keeps them), so free-ordering bugs such as
// free-before-flush are invisible to it by construction; what it catches
// is the page-table side: khugepaged retracts the PTE tables its discards
// emptied, and a flush that does not reach lazy CPUs leaves their
// paging-structure caches pointing at a freed table. tlb-flush1's discards
// free the anonymous copies, so it catches free-before-flush.
const SECONDS = 2;

async function expectCaughtOn(scenario: string, bug: string): Promise<void> {
  const { runFree } = await loadEngine();
  const tried: string[] = [];
  let ops = 0;
  for (const seed of detectionSeeds(() => ops)) {
    const r = await runFree({ scenario, cpus: 4, seconds: SECONDS, seed, inject: [bug], onFault: 'return' });
    ops += r.ops;
    expect(r.fault).toBeNull();
    if (r.violations + (r.endCheck?.violations.length ?? 0) > 0) return;
    tried.push(`seed ${seed}: ${r.ops} ops`);
  }
  expect.fail(`${bug} on ${scenario} was not caught (${tried.join('; ')})`);
}

describe('injected TLB bugs caught by the file-backed scenarios', () => {
  it('tlb-flush3 reports flush-range-freed-tables-false', async () => {
    await expectCaughtOn('tlb-flush3', 'flush-range-freed-tables-false');
  });
  it('tlb-flush1 reports free-before-flush', async () => {
    await expectCaughtOn('tlb-flush1', 'free-before-flush');
  });
});
