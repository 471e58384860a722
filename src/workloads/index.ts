// The scenario registry: the one list the engine, the CLI and the docs read.

import { ipiStorm } from './ipi-storm.js';
import { forkCow } from './mm/fork-cow.js';
import { munmapStorm } from './mm/munmap-storm.js';
import { tlbFlush1, tlbFlush3 } from './mm/tlb-flush-file.js';
import { tlbFlush2, tlbFlush2Shared, tlbFlush2Mixed } from './mm/tlb-flush2.js';
import type { CpuProgram, ProgramCtx, Scenario } from './program.js';

export type { CpuProgram, EndCheck, ProgramCtx, Scenario, ScenarioOptions, SetupCtx, TestFaults } from './program.js';
export { Xorshift32 } from './prng.js';

export const SCENARIOS: readonly Scenario[] = [ipiStorm, tlbFlush2, tlbFlush2Shared, tlbFlush2Mixed, munmapStorm, forkCow, tlbFlush1, tlbFlush3];

const byName = new Map(SCENARIOS.map((s) => [s.name, s]));

export class UnknownScenarioError extends Error {
  override name = 'UnknownScenarioError';
}

export function findScenario(name: string): Scenario {
  const s = byName.get(name);
  if (!s) {
    throw new UnknownScenarioError(`unknown scenario "${name}": use one of ${SCENARIOS.map((x) => x.name).join(', ')}`);
  }
  return s;
}

/** Builds one CPU's program of the named scenario (in that CPU's worker). */
export function createCpuProgram(scenario: string, ctx: ProgramCtx): CpuProgram {
  return findScenario(scenario).create(ctx);
}
