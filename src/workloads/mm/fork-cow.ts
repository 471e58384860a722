// fork-cow: a multi-threaded parent whose first thread writes a pattern to
// its pages and forks; each child checks it sees the pattern as of the
// fork, overwrites its copy twice (copy-on-write faults), checks its own
// data and exits. Meanwhile the parent goes on writing (its own CoW faults,
// or reuse once the children are gone) and its other threads run the
// tlb-flush2 loop, so the fork's write-protect flush shoots down real TLBs.
// Children are short-lived processes with the parent's address layout: the
// CPUs cycle through many address spaces, evicting and reusing ASIDs.
//
// Options (besides the common ones): children (3) live children at most
// per parent; procs (1) parents. Defaults differ: pages 8, and every op
// also reads sibling threads' pages (peekPercent 100), so the flushes of
// copy-on-write faults, discards and forks all meet in other CPUs' TLBs.

import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { sysExit } from '../../kernel/mm/exit.js';
import { taskMm, taskW } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import {
  KIND_FORK_CHILD, KIND_FORK_PARENT, KIND_TLB_FLUSH2, W_AUX0, W_AUX1, W_AUX2, W_ITER, W_PAGES, W_PHASE, W_REGION,
  mmDomain, secretOf, setTw, tw,
} from './common.js';
import { processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu } from './runner.js';
import { mapThreadRegion, mmPrograms, tlbFlush2Step } from './tlb-flush2.js';
import { touchPages, verifyPages } from './user-ops.js';
import { forkUnderCap, startForkedChild } from './fork-child.js';

const NAME = 'fork-cow';
/** Parent words: W_AUX0 = live children, W_AUX1 = the cap. */
const PH_WRITE = 0;
const PH_FORK = 1;
/** Child words: W_AUX0 = the parent's pattern generation at the fork, W_AUX1 = the parent's domain, W_AUX2 = the parent task. */
const PH_VERIFY = 0;
const PH_WRITE_1 = 1;
const PH_WRITE_2 = 2;
const PH_EXIT = 3;

const parentSecret = (gen: number) => (i: number) => secretOf(7, gen, i);
const childSecret = (tid: number, round: number) => (i: number) => secretOf(tid + 1000, round, i);

export function forkParentStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const mm = taskMm(k, tid);
  const region = tw(k, tid, W_REGION);
  const pages = tw(k, tid, W_PAGES);
  const gen = tw(k, tid, W_ITER);
  const domain = mmDomain(k, mm);
  if (tw(k, tid, W_PHASE) === PH_WRITE) {
    // What we wrote last time is still ours to read, fork or no fork: a
    // child got a copy-on-write share of it, not the pages themselves.
    // (The generation moves with every write, not with every fork: a fork
    // refused at the children cap must not make us expect an older one.)
    if (gen > 0) verifyPages(k, cpu, tid, mm, region, pages, domain, parentSecret(gen - 1));
    touchPages(k, cpu, tid, mm, region, pages, domain, parentSecret(gen));
    setTw(k, tid, W_ITER, gen + 1);
    setTw(k, tid, W_PHASE, PH_FORK);
    return;
  }
  setTw(k, tid, W_PHASE, PH_WRITE);
  const child = forkUnderCap(k, cpu, tid, KIND_FORK_CHILD, W_AUX0, W_AUX1);
  if (child < 0) return;
  // The pattern as of the fork: the generation written last.
  startForkedChild(k, cpu, tid, child, PH_VERIFY, gen, domain);
}

export function forkChildStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const mm = taskMm(k, tid);
  const region = tw(k, tid, W_REGION);
  const pages = tw(k, tid, W_PAGES);
  const domain = mmDomain(k, mm);
  switch (tw(k, tid, W_PHASE)) {
    case PH_VERIFY:
      verifyPages(k, cpu, tid, mm, region, pages, tw(k, tid, W_AUX1), parentSecret(tw(k, tid, W_AUX0)));
      setTw(k, tid, W_PHASE, PH_WRITE_1);
      return;
    case PH_WRITE_1:
      touchPages(k, cpu, tid, mm, region, pages, domain, childSecret(tid, 1));
      setTw(k, tid, W_PHASE, PH_WRITE_2);
      return;
    case PH_WRITE_2:
      verifyPages(k, cpu, tid, mm, region, pages, domain, childSecret(tid, 1));
      touchPages(k, cpu, tid, mm, region, pages, domain, childSecret(tid, 2));
      setTw(k, tid, W_PHASE, PH_EXIT);
      return;
    default: {
      const parent = tw(k, tid, W_AUX2);
      Atomics.sub(k.task, taskW(parent, W_AUX0), 1);
      cpu.stats.exits++;
      sysExit(k, tid);
    }
  }
}

const PROGRAMS = mmPrograms({
  [KIND_FORK_PARENT]: forkParentStep,
  [KIND_FORK_CHILD]: forkChildStep,
  [KIND_TLB_FLUSH2]: tlbFlush2Step,
});

function options(ctx: { options: ProgramCtx['options']; cpus: number }): CommonOptions & { children: number } {
  return {
    ...commonOptions(NAME, ctx.options, ctx.cpus, { pages: 8, peekPercent: 100 }),
    children: intOption(NAME, ctx.options, 'children', 3, 0, 16),
  };
}

export const forkCow: Scenario = {
  name: NAME,
  description: 'a multi-threaded parent forks short-lived children; both sides write their shared pages (copy-on-write) and check what they read',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('children'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx);
    const { procs, threads } = processShape(o);
    const plan = {
      threads,
      kindOf: (i: number) => (i === 0 ? KIND_FORK_PARENT : KIND_TLB_FLUSH2),
      init: (k: KernelCtx, tid: number, mm: number) => {
        mapThreadRegion(NAME, k, tid, mm);
        setTw(k, tid, W_AUX1, o.children);
      },
    };
    setupMmMachine(ctx, NAME, o, Array.from({ length: procs }, () => plan), o.pages);
  },
  create(ctx: ProgramCtx): CpuProgram {
    return new MmCpu(ctx, options(ctx), PROGRAMS);
  },
  endCheck: checkMachineAtEnd,
};
