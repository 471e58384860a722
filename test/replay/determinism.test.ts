// --check-determinism on every scenario: the serialized engine runs each
// scenario twice with one configuration and must give the same digest
// (counters, trace rings, oracle record, scheduling decisions), under both
// policies. A scenario that fails here has host time or thread timing
// leaking into what it does.
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/helpers.js';
import { SCENARIOS } from '../../src/workloads/index.js';

// Threads-only scenarios need several CPUs in one mm; 3 CPUs suit all.
const CPUS = 3;
const OPS = 30;

describe('every scenario is deterministic under the serialized engine', () => {
  it.each(SCENARIOS.map((s, i) => [s.name, i] as const))('%s: two runs of one configuration give one digest', async (name, i) => {
    const { runFree } = await loadEngine();
    // Alternate the policy over the list so both are covered without doubling the time.
    const sched = i % 2 === 0 ? 'random' as const : 'pct' as const;
    const cfg = { scenario: name, cpus: CPUS, ops: OPS, seed: 1 + i, engine: 'serialized' as const, schedSeed: 3 + i, sched, preemptions: 3 };
    const a = await runFree(cfg);
    const b = await runFree(cfg);
    expect(a.fault).toBeNull();
    expect(a.ops).toBe(CPUS * OPS);
    expect(a.schedSteps).toBeGreaterThan(0);
    expect(b.totals).toEqual(a.totals);
    expect(b.schedSteps).toBe(a.schedSteps);
    expect(b.digest).toBe(a.digest);
  });
});
