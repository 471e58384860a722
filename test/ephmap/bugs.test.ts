// The ephemeral-map bugs, each on its catalogued scenario (args from the
// catalogue: --option and --variant), a few seconds per seed until the
// oracle reports the kind of violation the bug must produce. The full
// detection rates (10 seeds, 20 s budget) are measured by the CLI (README).
// Runs from dist/ (npm run build first).
import { describe, expect, it } from 'vitest';
import { BUG_CATALOG } from '../../src/check/bugs.js';
import { VIOLATION_NAMES } from '../../src/check/oracle.js';
import { loadEngine } from '../engine/helpers.js';

const SECONDS = 3;
const SEEDS = [1, 2, 3];

/** The violation kinds each bug is expected to show first. */
const EXPECTED: Record<string, readonly string[]> = {
  'ephmap-skip-local-flush': ['ephmap'],
  'ephmap-double-alloc': ['readback', 'ephmap'],
  'ephmap-migrate-enabled': ['ephmap'],
  'no-mitigation-flush-on-evict': ['isolation'],
  'no-mitigation-flush-on-close': ['isolation'],
  'mermap-no-wrap-flush': ['ephmap'],
  'mermap-free-while-pending': ['ephmap'],
  'kmap-no-unmap-flush': ['readback'],
};

function optionsOf(args: readonly string[]): Record<string, string | number> {
  const o: Record<string, string | number> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--variant') o['variant'] = args[++i]!;
    if (args[i] === '--option') {
      const [k, v] = args[++i]!.split('=');
      o[k!] = /^\d+$/.test(v!) ? Number(v) : v!;
    }
  }
  return o;
}

async function firstKind(scenario: string, bug: string, options: Record<string, string | number>): Promise<{ kind: string; cpu: number; slotCpu: number; frameGen: number } | null> {
  const { runFree } = await loadEngine();
  for (const seed of SEEDS) {
    const r = await runFree({ scenario, cpus: 4, seconds: SECONDS, seed, inject: [bug], onFault: 'return', options });
    expect(r.fault).toBeNull();
    const v = r.violationRecords[0];
    if (v) return { kind: VIOLATION_NAMES[v.kind] ?? String(v.kind), cpu: v.cpu, slotCpu: v.slotCpu, frameGen: v.frameGen };
  }
  return null;
}

describe.each(Object.keys(EXPECTED))('%s', (bug) => {
  it('is caught by its scenario with the expected kind of violation', async () => {
    const spec = BUG_CATALOG.find((b) => b.name === bug)!;
    expect(spec.scenario).toBe('ephmap-copy');
    const v = await firstKind(spec.scenario, bug, optionsOf(spec.args));
    expect(v).not.toBeNull();
    expect(EXPECTED[bug]).toContain(v!.kind);
    if (v!.kind === 'isolation') expect(v!.slotCpu).toBeGreaterThanOrEqual(0);
  }, 120_000);
});

describe('page-cache-evict --variant asi-on+ephmap with no-mitigation-flush-on-evict', () => {
  it('reports an isolation violation naming the CPU that cached the entry and the CPU that owned the slot', async () => {
    const v = await firstKind('page-cache-evict', 'no-mitigation-flush-on-evict', { variant: 'asi-on+ephmap', closePercent: 0 });
    expect(v).toMatchObject({ kind: 'isolation' });
    expect(v!.slotCpu).toBeGreaterThanOrEqual(0);
    expect(v!.slotCpu).not.toBe(v!.cpu);
  }, 120_000);
});
