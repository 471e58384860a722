// Counts to simulated time: each CPU's counted events times the profile's
// cycles per event. Simulated time does not depend on how busy the host
// was, only on what each CPU did, so two variants compare on their events
// (exits, mitigations, flushes, refill misses) rather than on host noise.
// CPUs run in parallel: the run's simulated length is its busiest CPU's.

import { COUNTER_NAMES, type CounterName } from '../../native-layout/counters.js';
import type { CpuProfile } from './profile.js';

export interface SimulatedCpu {
  readonly cpu: number;
  readonly cycles: number;
  /** Cycles by event, only events that cost something. */
  readonly byEvent: Readonly<Record<string, number>>;
}

export interface Simulated {
  readonly profile: string;
  readonly perCpu: readonly SimulatedCpu[];
  /** All CPUs' cycles. */
  readonly cycles: number;
  /** The busiest CPU's cycles over the clock, in ms. */
  readonly elapsedMs: number;
  /** Ops per simulated second (all CPUs' ops over the simulated length). */
  readonly opsPerSimSecond: number;
}

/**
 * Simulated cycles of each CPU of a run: `perCpu[i]` maps counter names to
 * counts (a RunReport's perCpu counters). Events the profile does not cost
 * are free.
 */
export function simulate(profile: CpuProfile, perCpu: readonly { cpu: number; counters: Readonly<Record<string, number>> }[]): Simulated {
  const cost = new Map(profile.costs.map((c) => [c.event, c.cycles]));
  const cpus: SimulatedCpu[] = perCpu.map(({ cpu, counters }) => {
    let cycles = 0;
    const byEvent: Record<string, number> = {};
    for (const name of COUNTER_NAMES as readonly CounterName[]) {
      const c = cost.get(name);
      const n = counters[name] ?? 0;
      if (c === undefined || c === 0 || n === 0) continue;
      byEvent[name] = n * c;
      cycles += n * c;
    }
    return { cpu, cycles, byEvent };
  });
  const busiest = cpus.reduce((m, c) => Math.max(m, c.cycles), 0);
  const elapsedMs = busiest / (profile.ghz * 1e6);
  const ops = perCpu.reduce((s, c) => s + (c.counters['ops'] ?? 0), 0);
  return {
    profile: profile.name,
    perCpu: cpus,
    cycles: cpus.reduce((s, c) => s + c.cycles, 0),
    elapsedMs,
    opsPerSimSecond: elapsedMs > 0 ? ops / (elapsedMs / 1000) : 0,
  };
}
