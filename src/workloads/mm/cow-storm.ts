// cow-storm: fork storms and writes on both sides, the copy-on-write load
// of the ASI postings ("copy-on-write needing two ephmap mappings at once"
// is one of the three costs left after the ephmap, SEMANTICS.md §11).
//
// Single-threaded processes (one per CPU by default) each write a pattern
// over their pages and fork; up to `children` children live at once. Each
// child checks it sees the pattern as of the fork, overwrites its copy
// twice and exits; the parent keeps writing (its own copy-on-write faults
// while children share its pages, reuse in place once they are gone) and
// checks what it reads back. Every write fault on a shared page is a
// copy_user_highpage(): through the direct map under asi-on (a PAGE_FAULT
// exit from the nonsensitive space), through the ephmap (K = 1: the
// destination falls back to the direct map; --option slots=2 maps both)
// or through the mermap (two window allocations) under the ephemeral-map
// variants (kernel/mm/copy-user-page.ts). The fork's write-protect flush
// and the copy's ptep_clear_flush shoot down the other CPUs running the
// same process... here, the CPUs that ran it last (lazy and migrated
// ones), since each process is single-threaded.
//
// Same task programs as fork-cow (fork-cow.ts), without its tlb-flush2
// threads, with more children and pages.
//
// Options (besides the common ones; defaults: mode processes, pages 16,
// peekPercent 0): children (4) live children per parent, slots (1: the
// ephmap's K, 2 lets copy-on-write map source and destination at once).

import { checkMachineAtEnd } from '../../check/machine-check.js';
import { setEphmapSlots } from '../../kernel/ephmap/ephmap.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import { KIND_FORK_CHILD, KIND_FORK_PARENT, W_AUX1, setTw } from './common.js';
import { forkChildStep, forkParentStep } from './fork-cow.js';
import { processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu } from './runner.js';
import { mapThreadRegion, mmPrograms } from './tlb-flush2.js';

const NAME = 'cow-storm';

const PROGRAMS = mmPrograms({
  [KIND_FORK_PARENT]: forkParentStep,
  [KIND_FORK_CHILD]: forkChildStep,
});

interface CowStormOptions extends CommonOptions {
  readonly children: number;
  readonly slots: number;
}

function options(ctx: { options: ProgramCtx['options']; cpus: number }): CowStormOptions {
  return {
    ...commonOptions(NAME, ctx.options, ctx.cpus, { mode: 'processes', pages: 16, peekPercent: 0 }),
    children: intOption(NAME, ctx.options, 'children', 4, 1, 16),
    slots: intOption(NAME, ctx.options, 'slots', 1, 1, 2),
  };
}

export const cowStorm: Scenario = {
  name: NAME,
  description: 'ASI: single-threaded processes fork storms of children; both sides write every shared page (copy-on-write: two mappings at once) and check what they read',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('children', 'slots'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx);
    const { procs, threads } = processShape(o);
    const plan = {
      threads,
      kindOf: () => KIND_FORK_PARENT,
      init: (k: KernelCtx, tid: number, mm: number) => {
        mapThreadRegion(NAME, k, tid, mm);
        setTw(k, tid, W_AUX1, o.children);
      },
    };
    setupMmMachine(ctx, NAME, o, Array.from({ length: procs }, () => plan), o.pages, -1, (k) => setEphmapSlots(k, o.slots));
  },
  create(ctx: ProgramCtx): CpuProgram {
    return new MmCpu(ctx, options(ctx), PROGRAMS);
  },
  endCheck: checkMachineAtEnd,
};
