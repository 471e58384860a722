// The scenario registry: the one list the engine, the CLI and the docs read.

import { ipiStorm } from './ipi-storm.js';
import { fixmapSwitch } from './mm/fixmap-switch.js';
import { fioRandread } from './mm/fio-randread.js';
import { kernelCompile } from './mm/kernel-compile.js';
import { forkCow } from './mm/fork-cow.js';
import { munmapStorm } from './mm/munmap-storm.js';
import { mremapTruncate } from './mm/mremap-truncate.js';
import { reclaimMprotect } from './mm/reclaim-mprotect.js';
import { tlbFlush1, tlbFlush3 } from './mm/tlb-flush-file.js';
import { tlbFlush2, tlbFlush2Shared, tlbFlush2Mixed, tlbFlush2SharedMixed } from './mm/tlb-flush2.js';
import { ScenarioOptionError } from './mm/options.js';
import { flipStorm } from './mm/flip-storm.js';
import { ephmapCopy, pageCacheEvict } from './mm/ephem-copy.js';
import { cowStorm } from './mm/cow-storm.js';
import type { CpuProgram, ProgramCtx, Scenario, ScenarioOptions } from './program.js';
import { sharedFileWriteback } from './mm/shared-file-writeback.js';
import { madviseRace } from './mm/madvise-race.js';
import { mshare } from './mm/mshare.js';
import { guestMemfd } from './mm/guest-memfd.js';
import { hugetlbShare } from './mm/hugetlb-share.js';

export type { CpuProgram, EndCheck, ProgramCtx, Scenario, ScenarioOptions, SetupCtx, TestFaults } from './program.js';
export { Xorshift32 } from './prng.js';

/** Every scenario: the built-ins, then any registered from a --scenario-file (registerScenario). */
export const SCENARIOS: readonly Scenario[] = [
  ipiStorm, tlbFlush2, tlbFlush2Shared, tlbFlush2Mixed, tlbFlush2SharedMixed, munmapStorm, forkCow,
  tlbFlush1, tlbFlush3, reclaimMprotect, mremapTruncate, fixmapSwitch,
  // ASI sensitivity flips (issue 7)
  flipStorm,
  // ASI (issue 7, asi-space):
  fioRandread, kernelCompile,
  // ephemeral maps (issue 7)
  ephmapCopy, pageCacheEvict,
  // combined paths (reach, issue 11)
  sharedFileWriteback, madviseRace,
  // hugetlb with shared PMD tables (reach, issue 11)
  hugetlbShare,
  // copy-on-write storms under ASI (issue 7 remainder)
  cowStorm,
  // mshare and secondary MMUs (issue 8, branch mshare)
  mshare,
  // guest_memfd without a direct map (issue 8)
  guestMemfd,
];

const byName = new Map(SCENARIOS.map((s) => [s.name, s]));
/** How many of SCENARIOS are built in (the rest came from scenario files). */
export const BUILTIN_SCENARIO_COUNT = SCENARIOS.length;

export class UnknownScenarioError extends Error {
  override name = 'UnknownScenarioError';
}

/** A scenario object that does not have the Scenario shape (src/workloads/program.ts). */
export class ScenarioShapeError extends TypeError {
  override name = 'ScenarioShapeError';
}

/**
 * Checks that `s` has the Scenario shape: a lower-case name of letters,
 * digits and dashes, a description, optionNames (strings), create(), and
 * setup()/endCheck() and memBytes when present of the right kind. Throws
 * ScenarioShapeError naming the first field that is wrong.
 */
export function checkScenarioShape(s: unknown, where: string): asserts s is Scenario {
  const bad = (what: string): never => {
    throw new ScenarioShapeError(`${where}: ${what}`);
  };
  if (typeof s !== 'object' || s === null) bad('is not a scenario object (export default { name, description, optionNames, create })');
  const o = s as Record<string, unknown>;
  if (typeof o['name'] !== 'string' || !/^[a-z][a-z0-9-]{0,39}$/.test(o['name'])) {
    bad(`name ${JSON.stringify(o['name'])} is invalid: use 1-40 lower-case letters, digits and dashes, starting with a letter`);
  }
  if (typeof o['description'] !== 'string' || o['description'].length === 0) bad('description must be a non-empty string');
  if (!Array.isArray(o['optionNames']) || !o['optionNames'].every((n) => typeof n === 'string')) bad('optionNames must be an array of strings');
  if (typeof o['create'] !== 'function') bad('create(ctx) must be a function returning the CPU program');
  for (const f of ['setup', 'endCheck'] as const) {
    if (o[f] !== undefined && typeof o[f] !== 'function') bad(`${f} must be a function when given`);
  }
  if (o['memBytes'] !== undefined && !(typeof o['memBytes'] === 'number' && o['memBytes'] > 0)) bad('memBytes must be a positive number of bytes when given');
}

/**
 * Adds a scenario to the registry (a --scenario-file's, in the main thread
 * and in every CPU worker), so everything that looks scenarios up by name
 * sees it. Registering the same object again is a no-op; another scenario
 * under a taken name is refused.
 */
export function registerScenario(s: Scenario, where = 'scenario'): void {
  checkScenarioShape(s, where);
  const had = byName.get(s.name);
  if (had === s) return;
  if (had) throw new ScenarioShapeError(`${where}: a scenario named "${s.name}" already exists: pick another name`);
  (SCENARIOS as Scenario[]).push(s);
  byName.set(s.name, s);
}

export function findScenario(name: string): Scenario {
  const s = byName.get(name);
  if (!s) {
    throw new UnknownScenarioError(`unknown scenario "${name}": use one of ${SCENARIOS.map((x) => x.name).join(', ')}`);
  }
  return s;
}

/**
 * Options every scenario takes: the CLI sets variant from --variant;
 * interleave, stallSpins and stallSites drive the kernel interleaving points
 * (src/engine/kernel-points.ts).
 */
const ENGINE_OPTION_NAMES: readonly string[] = ['variant', 'interleave', 'stallSpins', 'stallSites'];

/**
 * Refuses a --option key the scenario does not read, naming the keys it
 * does: an option spelt wrong must not run the defaults without a word.
 */
export function checkOptionNames(s: Scenario, options: ScenarioOptions): void {
  for (const key of Object.keys(options)) {
    if (s.optionNames.includes(key) || ENGINE_OPTION_NAMES.includes(key)) continue;
    // The engine's interleaving options are valid for every scenario: list
    // them too (variant is set with --variant, not --option).
    const known = [...s.optionNames, ...ENGINE_OPTION_NAMES.filter((n) => n !== 'variant')].join(', ');
    throw new ScenarioOptionError(`${s.name} has no option "${key}": its options are ${known}`);
  }
}

/** The subset of options the scenario reads (engine options included). */
export function optionsKnownTo(s: Scenario, options: ScenarioOptions): Record<string, ScenarioOptions[string]> {
  const out: Record<string, ScenarioOptions[string]> = {};
  for (const [key, value] of Object.entries(options)) {
    if (s.optionNames.includes(key) || ENGINE_OPTION_NAMES.includes(key)) out[key] = value;
  }
  return out;
}

/** Memory per simulated CPU that a scenario's default machine grows by (bytes). */
export const MEM_PER_CPU_BYTES = 4 * 2 ** 20;

/**
 * The machine size a run gets when it does not say: the scenario's own
 * size, grown to MEM_PER_CPU_BYTES per CPU. A zone sized for 4 CPUs has
 * per-CPU lists of one or two pages at 16 (zone_highsize shares the low
 * watermark out across CPUs, and zone_batchsize is 1 below 64 MiB), so
 * every allocation would go to the zone lock: faithful for such a machine,
 * but no machine has 64 CPUs and 16 MiB. Undefined for scenarios that boot
 * no kernel (the engine's minimum applies).
 */
export function defaultMemBytes(s: Scenario, cpus: number): number | undefined {
  if (s.memBytes === undefined) return undefined;
  return Math.max(s.memBytes, cpus * MEM_PER_CPU_BYTES);
}

/** Builds one CPU's program of the named scenario (in that CPU's worker). */
export function createCpuProgram(scenario: string, ctx: ProgramCtx): CpuProgram {
  return findScenario(scenario).create(ctx);
}
