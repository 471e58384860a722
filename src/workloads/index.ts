// The scenario registry: the one list the engine, the CLI and the docs read.

import { ipiStorm } from './ipi-storm.js';
import type { CpuProgram, ProgramCtx, Scenario } from './program.js';

export type { CpuProgram, ProgramCtx, Scenario, ScenarioOptions, TestFaults } from './program.js';
export { Xorshift32 } from './prng.js';

export const SCENARIOS: readonly Scenario[] = [ipiStorm];

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
