// New machinery (issue 11): NUMA hinting faults and page migration through
// migration entries. The default soak set's tlb-flush2 runs change_prot_numa
// over its threads' regions (numaPercent, on by default) while they write
// their pages and discard them, and half the hinting faults migrate
// (migratePagePercent). It runs clean while pages move, and catches the
// real fix reverted on that path (20841405940e: migration did not flush a
// PROT_NONE entry whose change_prot_numa flush was still pending) with the
// catalogue's default options, on seeds that were not used to tune it
// (from 500).
import { describe, expect, it } from 'vitest';
import { BUG_CATALOG } from '../../src/check/bugs.js';
import { SCENARIOS } from '../../src/workloads/index.js';
import { loadEngine } from '../engine/helpers.js';

const SECONDS = 3;
const MIN_OPS = 20_000;
const MAX_SEEDS = 10;
const BUG = 'numa-protnone-not-accessible';

async function run(seed: number, inject: string[] = []) {
  const { runFree } = await loadEngine();
  return runFree({ scenario: 'tlb-flush2', cpus: 4, seconds: SECONDS, seed, inject, onFault: 'return', options: {} });
}

const found = (r: Awaited<ReturnType<typeof run>>): number => r.violations + (r.endCheck?.violations.length ?? 0) + (r.endCheck?.framesLost ?? 0);
const stat = (r: Awaited<ReturnType<typeof run>>, key: string): number =>
  r.perCpu.reduce((n, c) => n + ((c.summary as Record<string, number>)[key] ?? 0), 0);

describe('NUMA hinting and page migration in the default soak set', () => {
  it('tlb-flush2 is in the default soak set and the catalogue names it, with default options, for the bug', () => {
    expect(SCENARIOS.map((s) => s.name)).toContain('tlb-flush2');
    const b = BUG_CATALOG.find((x) => x.name === BUG)!;
    expect(b.scenario).toBe('tlb-flush2');
    expect(b.args).not.toContain('--option');
  });

  it('runs clean on 4 CPUs while scans make PTEs PROT_NONE and faults migrate pages', async () => {
    const r = await run(500);
    expect(r.fault).toBeNull();
    expect(found(r)).toBe(0);
    expect(stat(r, 'numaScans')).toBeGreaterThan(0);
    expect(stat(r, 'numaFaults')).toBeGreaterThan(0);
    expect(stat(r, 'pagesMigrated')).toBeGreaterThan(0);
  }, 60_000);

  it(`${BUG} (reverted fix) is caught with the catalogue's arguments`, async () => {
    const tried: string[] = [];
    let ops = 0;
    for (let seed = 500; seed < 500 + MAX_SEEDS && (seed < 504 || ops < MIN_OPS); seed++) {
      const r = await run(seed, [BUG]);
      expect(r.fault).toBeNull();
      if (found(r) > 0) {
        expect(r.violationRecords.length).toBeGreaterThan(0);
        expect(r.violationRecords[0]!.kindName).toMatch(/stale/);
        return;
      }
      ops += r.ops;
      tried.push(`seed ${seed}: ${r.ops} ops`);
    }
    expect.fail(`${BUG} not caught by tlb-flush2: ${tried.join('; ')}`);
  }, 180_000);
});
