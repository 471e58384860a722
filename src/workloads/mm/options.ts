// Options of the mm scenarios: read once, validated at the edge (the
// set-up on the main thread meets them first), with one-line errors naming
// the value and the range. Unknown keys are left alone: the CLI passes its
// own (variant) to every scenario.

import type { ScenarioOptions } from '../program.js';
import { recordOption } from '../option-catalog.js';

export class ScenarioOptionError extends RangeError {
  override name = 'ScenarioOptionError';
}

/**
 * Default store-commit latency at a serializing instruction. A contended
 * store (its line was just read by a flusher on another core) takes a
 * cross-core round trip to commit, a few hundred ns on hardware; the
 * emulator runs the code around it (switch_mm, flush_tlb_mm_range) some
 * 20-50x slower than the kernel does, so the window it stands for is some
 * microseconds here. Only a switch_mm missing its fence ever waits on it.
 */
export const SB_DRAIN_NS_DEFAULT = 5000;

export function intOption(scenario: string, o: ScenarioOptions, name: string, dflt: number, min: number, max: number): number {
  recordOption({ name, default: dflt, range: `${min}..${max}` });
  const v = o[name] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ScenarioOptionError(`${scenario} option ${name}=${String(v)} is invalid: use an integer in ${min}..${max}`);
  }
  return v;
}

export function choiceOption<T extends string>(scenario: string, o: ScenarioOptions, name: string, dflt: T, choices: readonly T[]): T {
  recordOption({ name, default: dflt, range: choices.join('|') });
  const v = o[name] ?? dflt;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new ScenarioOptionError(`${scenario} option ${name}=${String(v)} is invalid: use one of ${choices.join(', ')}`);
  }
  return v as T;
}

/** Options every mm scenario understands. */
export interface CommonOptions {
  /** 'threads': procs processes of `threads` threads each; 'processes': `threads` single-threaded processes. */
  readonly mode: 'threads' | 'processes';
  readonly procs: number;
  readonly threads: number;
  /** Pages each thread works on. */
  readonly pages: number;
  /** Ops a task runs before the CPU reschedules. */
  readonly slice: number;
  /** Chance (%) that a task switched out is queued on another CPU. */
  readonly migratePercent: number;
  /** Chance (%) per op that the hardware speculatively fills two translations. */
  readonly specPercent: number;
  /** Translations the hardware prefetches right after a CR3 load in switch_mm. */
  readonly switchSpec: number;
  /** Chance (%) per op that a thread also reads a few of its sibling threads' pages. */
  readonly peekPercent: number;
  /** 1: a kernel thread per CPU, woken between tasks (lazy TLB); 0: none. */
  readonly kthreads: number;
  /** Chance (%) at each reschedule that the CPU's kernel thread runs next. */
  readonly kthreadPercent: number;
  /** Ops a woken kernel thread runs before it sleeps again. */
  readonly kthreadSlice: number;
  /** Chance (%) per kernel-thread op of a khugepaged pass over one address space. */
  readonly khugepagedPercent: number;
  /** Chance (%) per kernel-thread op of a kcompactd pass: migrate the pages of 16 pages of some process's anonymous memory. */
  readonly compactPercent: number;
  /**
   * Host nanoseconds a store left in the store buffer stays invisible when a
   * serializing instruction (the CR3 write) drains it (hw/store-buffer.ts).
   * Fences drain at once, so with every fence in place this never applies.
   */
  readonly sbDrainNs: number;
  /** 1: page-table isolation: kernel mappings are non-global, PCID-tagged (flush_tlb_one_kernel sets invalidate_other). */
  readonly pti: number;
}

/** The keys commonOptions reads, for Scenario.optionNames. */
export const COMMON_OPTION_NAMES: readonly string[] = [
  'mode', 'procs', 'threads', 'pages', 'slice', 'migratePercent', 'specPercent', 'switchSpec', 'peekPercent',
  'kthreads', 'kthreadPercent', 'kthreadSlice', 'khugepagedPercent', 'compactPercent', 'sbDrainNs', 'pti',
];

/** Common keys plus a scenario's own. */
export function mmOptionNames(...own: string[]): readonly string[] {
  return [...COMMON_OPTION_NAMES, ...own];
}

/** Common keys a scenario may fix (commonOptions' `fixed`): its shape is not an option. */
export type FixedCommonKey = 'mode' | 'threads' | 'pages';

/** mmOptionNames without the keys the scenario fixes. */
export function mmOptionNamesWithout(fixed: readonly FixedCommonKey[], ...own: string[]): readonly string[] {
  return mmOptionNames(...own).filter((n) => !(fixed as readonly string[]).includes(n));
}

/**
 * The common keys, read from o with the scenario's defaults d. Keys in
 * `fixed` are not options of this scenario: they take d's value (or the
 * common default) and are neither read nor listed (leave them out of its
 * optionNames too: mmOptionNames' `without`).
 */
export function commonOptions(
  scenario: string, o: ScenarioOptions, cpus: number, d: Partial<CommonOptions> = {}, fixed: readonly FixedCommonKey[] = [],
): CommonOptions {
  const isFixed = (k: FixedCommonKey): boolean => fixed.includes(k);
  const mode = isFixed('mode') ? d.mode ?? 'threads' : choiceOption(scenario, o, 'mode', d.mode ?? 'threads', ['threads', 'processes'] as const);
  return {
    mode,
    procs: intOption(scenario, o, 'procs', d.procs ?? 1, 1, 32),
    threads: isFixed('threads') ? d.threads ?? cpus : intOption(scenario, o, 'threads', d.threads ?? cpus, 1, 64),
    pages: isFixed('pages') ? d.pages ?? 16 : intOption(scenario, o, 'pages', d.pages ?? 16, 1, 256),
    slice: intOption(scenario, o, 'slice', d.slice ?? 4, 1, 1_000_000),
    migratePercent: intOption(scenario, o, 'migratePercent', d.migratePercent ?? 10, 0, 100),
    specPercent: intOption(scenario, o, 'specPercent', d.specPercent ?? 30, 0, 100),
    switchSpec: intOption(scenario, o, 'switchSpec', d.switchSpec ?? 4, 0, 64),
    peekPercent: intOption(scenario, o, 'peekPercent', d.peekPercent ?? 50, 0, 100),
    kthreads: intOption(scenario, o, 'kthreads', d.kthreads ?? 1, 0, 1),
    kthreadPercent: intOption(scenario, o, 'kthreadPercent', d.kthreadPercent ?? 30, 0, 100),
    kthreadSlice: intOption(scenario, o, 'kthreadSlice', d.kthreadSlice ?? 3, 1, 1_000_000),
    khugepagedPercent: intOption(scenario, o, 'khugepagedPercent', d.khugepagedPercent ?? 5, 0, 100),
    compactPercent: intOption(scenario, o, 'compactPercent', d.compactPercent ?? 0, 0, 100),
    sbDrainNs: intOption(scenario, o, 'sbDrainNs', d.sbDrainNs ?? SB_DRAIN_NS_DEFAULT, 0, 1_000_000),
    pti: intOption(scenario, o, 'pti', d.pti ?? 0, 0, 1),
  };
}
