// defineMmScenario: a scenario of user processes over the emulated kernel,
// built from the same parts as the built-in mm scenarios (setupMmMachine,
// MmCpu's scheduler, kernel threads, speculation, the end-of-run machine
// check): the author writes what one thread does per op and what it maps at
// set-up. The result is a Scenario like any built-in's, so `run`, `soak`,
// `compare` and the engine treat it the same way. `shootdown new scenario`
// writes a commented one.

import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import type { CpuProgram, ProgramCtx, Scenario, ScenarioOptions, SetupCtx } from '../program.js';
import { KIND_KTHREAD } from './common.js';
import { kthreadStep } from './kthread.js';
import { processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu, type TaskStep } from './runner.js';

/** Task kind of every thread of a defined scenario (the built-ins use 1..30). */
export const KIND_DEFINED = 100;

/** An integer option of a defined scenario: `--option name=N`. */
export interface IntOptionSpec {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** The options a defined scenario's functions get: the common mm ones and its own. */
export type DefinedOptions = CommonOptions & Readonly<Record<string, number | string>>;

/** What a scenario author writes (see defineMmScenario). */
export interface MmScenarioSpec {
  /** 1-40 lower-case letters, digits and dashes. */
  readonly name: string;
  readonly description: string;
  /** Emulated memory when the run does not say (bytes); default 16 MiB (grown 4 MiB per CPU). */
  readonly memBytes?: number;
  /** The scenario's own integer options, beside the common ones (threads, procs, mode, pages, ...). */
  readonly options?: Readonly<Record<string, IntOptionSpec>>;
  /** Defaults for common options (e.g. `{ pages: 8 }`). */
  readonly defaults?: Partial<CommonOptions>;
  /**
   * Set-up of thread `index` of a process (main thread, before any CPU
   * runs): map its memory (sysMmap) and set its task words (setTw).
   * Throw a ScenarioOptionError for a configuration that cannot work.
   */
  initThread(k: KernelCtx, tid: number, mm: number, index: number, opts: DefinedOptions): void;
  /**
   * One op of thread `tid` (on the CPU it is scheduled on): user accesses
   * (userRead/userWrite or touchPages/verifyPages), system calls (sysMmap,
   * sysMunmap, sysMadviseDontneed, sysMprotect), each checked by the oracle.
   * Keep per-thread state in task words (tw/setTw): a thread migrates.
   */
  step(k: KernelCtx, tid: number, cpu: MmCpu, opts: DefinedOptions): void;
}

/**
 * Builds a Scenario from an MmScenarioSpec. Options: the common mm options
 * (src/workloads/mm/options.ts) plus `spec.options`, each checked against
 * its range when the run starts (one line naming the option and its range).
 */
export function defineMmScenario(spec: MmScenarioSpec): Scenario {
  const own = spec.options ?? {};
  const optionsOf = (o: ScenarioOptions, cpus: number): DefinedOptions => {
    const out: Record<string, number | string> = { ...commonOptions(spec.name, o, cpus, spec.defaults) };
    for (const [name, r] of Object.entries(own)) out[name] = intOption(spec.name, o, name, r.default, r.min, r.max);
    return out as DefinedOptions;
  };
  return {
    name: spec.name,
    description: spec.description,
    memBytes: spec.memBytes ?? 16 * 2 ** 20,
    optionNames: mmOptionNames(...Object.keys(own)),
    setup(ctx: SetupCtx): void {
      const o = optionsOf(ctx.options, ctx.cpus);
      const { procs, threads } = processShape(o);
      const plan = {
        threads,
        kindOf: () => KIND_DEFINED,
        init: (k: KernelCtx, tid: number, mm: number, i: number) => {
          spec.initThread(k, tid, mm, i, o);
        },
      };
      setupMmMachine(ctx, spec.name, o, Array.from({ length: procs }, () => plan), o.pages, threads);
    },
    create(ctx: ProgramCtx): CpuProgram {
      const o = optionsOf(ctx.options, ctx.cpus);
      const programs: (TaskStep | undefined)[] = [];
      programs[KIND_KTHREAD] = kthreadStep;
      programs[KIND_DEFINED] = (k, tid, cpu) => spec.step(k, tid, cpu, o);
      return new MmCpu(ctx, o, programs);
    },
    endCheck: checkMachineAtEnd,
  };
}
