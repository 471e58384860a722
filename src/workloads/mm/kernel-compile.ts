// kernel-compile (reduced): the mix of a parallel build, the other workload
// the ASI postings measured. Single-threaded "make" processes (one per
// CPU by default) write their pages, read source blocks with read(), and
// fork short-lived "cc" children; each child checks the parent's pages it
// inherited (copy-on-write), reads source blocks of the shared tmpfs file
// into its buffer, writes its own pattern over every page (copy-on-write
// faults: fresh zeroed pages and copies), checks it, and exits (exit_mmap,
// the mm's nonsensitive space freed with it). Context switches run between
// many mms and the per-CPU kernel threads.
//
// Under ASI this exercises every exit path the kernel has here: PAGE_FAULT
// (read()'s copy through the direct map, and copy-on-write's: its source
// and destination need two ephemeral slots at once, so with the ephmap's
// K = 1 the destination falls back to the direct map; see
// kernel/mm/copy-user-page.ts), CONTEXT_SWITCH (switches between mms, and
// to kernel threads with exit-every-switch), TLB_FLUSH (fork's
// write-protect flush, exit_mmap's, and the flush IPIs of siblings'
// faults).
//
// Simplifications: no exec (a child keeps its forked mm; the fresh-mm part
// of exec is what fork's mm_alloc already does), no writes of new files
// (no write() path yet), no page-cache eviction.
//
// Options: the common ones (mode processes, threads = CPUs, pages 8),
// children (2 live per make), readsPerChild (4), readsPerMake (1), slots
// (1: the ephmap's K; 2 lets copy-on-write map source and destination).

import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { sysExit } from '../../kernel/mm/exit.js';
import { taskMm, taskW } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, ScenarioOptions, SetupCtx } from '../program.js';
import { PAGE, W_AUX0, W_AUX1, W_AUX2, W_ITER, W_PAGES, W_PHASE, W_REGION, mmDomain, secretOf, setTw, tw } from './common.js';
import { fioDiskInit, readBlockChecked } from './fio-randread.js';
import { processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu, type TaskStep } from './runner.js';
import { mapThreadRegion, mmPrograms } from './tlb-flush2.js';
import { touchPages, verifyPages } from './user-ops.js';
import { forkUnderCap, startForkedChild } from './fork-child.js';
import { setEphmapSlots } from '../../kernel/ephmap/ephmap.js';

const NAME = 'kernel-compile';
/** Task kinds (kernel-compile's block starts at 32). */
export const KIND_MAKE = 32;
export const KIND_CC = 33;
const SOURCE_PAGES = 512;
/** make: W_AUX0 live children, W_AUX1 the cap, W_AUX2 reads per child | reads per make << 16. */
const W_CHILDREN = W_AUX0;
const W_CAP = W_AUX1;
const W_READS = W_AUX2;
/** cc: W_AUX0 the make's pattern generation at the fork, W_AUX1 the make's domain, W_AUX2 the make task. */
const PH_WRITE = 0;
const PH_FORK = 1;
const PH_VERIFY = 0;
const PH_READ = 1;
const PH_WRITE_OWN = 2;
const PH_EXIT = 3;

interface CompileOptions extends CommonOptions {
  readonly children: number;
  readonly readsPerChild: number;
  readonly readsPerMake: number;
  readonly slots: number;
}

function options(o: ScenarioOptions, cpus: number): CompileOptions {
  return {
    ...commonOptions(NAME, o, cpus, { mode: 'processes', pages: 8, peekPercent: 0 }),
    children: intOption(NAME, o, 'children', 2, 1, 16),
    readsPerChild: intOption(NAME, o, 'readsPerChild', 4, 0, 64),
    readsPerMake: intOption(NAME, o, 'readsPerMake', 1, 0, 64),
    slots: intOption(NAME, o, 'slots', 1, 1, 2),
  };
}

const makeSecret = (gen: number) => (i: number) => secretOf(11, gen, i);
const ccSecret = (tid: number) => (i: number) => secretOf(tid + 2000, 3, i);

/** n random source reads into the task's first page, each checked (return value and buffer). */
function readSources(k: KernelCtx, tid: number, cpu: MmCpu, mm: number, n: number): void {
  const buf = tw(k, tid, W_REGION) * PAGE;
  for (let r = 0; r < n; r++) {
    readBlockChecked(k, tid, cpu, mm, 0, cpu.rng.below(SOURCE_PAGES), buf);
  }
}

export function makeStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const mm = taskMm(k, tid);
  const region = tw(k, tid, W_REGION);
  const pages = tw(k, tid, W_PAGES);
  const gen = tw(k, tid, W_ITER);
  const domain = mmDomain(k, mm);
  if (tw(k, tid, W_PHASE) === PH_WRITE) {
    // The source reads land in page 0, so the pattern is checked before them.
    if (gen > 0) verifyPages(k, cpu, tid, mm, region, pages, domain, makeSecret(gen - 1));
    readSources(k, tid, cpu, mm, tw(k, tid, W_READS) >>> 16);
    touchPages(k, cpu, tid, mm, region, pages, domain, makeSecret(gen));
    setTw(k, tid, W_ITER, gen + 1);
    setTw(k, tid, W_PHASE, PH_FORK);
    return;
  }
  setTw(k, tid, W_PHASE, PH_WRITE);
  const child = forkUnderCap(k, cpu, tid, KIND_CC, W_CHILDREN, W_CAP);
  if (child < 0) return;
  setTw(k, child, W_ITER, tw(k, tid, W_READS) & 0xffff);
  startForkedChild(k, cpu, tid, child, PH_VERIFY, gen, domain);
}

export function ccStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const mm = taskMm(k, tid);
  const region = tw(k, tid, W_REGION);
  const pages = tw(k, tid, W_PAGES);
  switch (tw(k, tid, W_PHASE)) {
    case PH_VERIFY:
      verifyPages(k, cpu, tid, mm, region, pages, tw(k, tid, W_AUX1), makeSecret(tw(k, tid, W_AUX0)));
      setTw(k, tid, W_PHASE, PH_READ);
      return;
    case PH_READ:
      readSources(k, tid, cpu, mm, tw(k, tid, W_ITER));
      setTw(k, tid, W_PHASE, PH_WRITE_OWN);
      return;
    case PH_WRITE_OWN:
      touchPages(k, cpu, tid, mm, region, pages, mmDomain(k, mm), ccSecret(tid));
      setTw(k, tid, W_PHASE, PH_EXIT);
      return;
    default: {
      verifyPages(k, cpu, tid, mm, region, pages, mmDomain(k, mm), ccSecret(tid));
      Atomics.sub(k.task, taskW(tw(k, tid, W_AUX2), W_CHILDREN), 1);
      cpu.stats.exits++;
      sysExit(k, tid);
    }
  }
}

const PROGRAMS = mmPrograms({ [KIND_MAKE]: makeStep, [KIND_CC]: ccStep });

export const kernelCompile: Scenario = {
  name: NAME,
  description: 'make processes read sources, write their pages and fork short-lived cc children (copy-on-write, source reads, exit); context switches between many mms and kernel threads',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('children', 'readsPerChild', 'readsPerMake', 'slots'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx.options, ctx.cpus);
    const { procs, threads } = processShape(o);
    const plan = {
      threads,
      kindOf: () => KIND_MAKE,
      init: (k: KernelCtx, tid: number, mm: number) => {
        mapThreadRegion(NAME, k, tid, mm);
        setTw(k, tid, W_CAP, o.children);
        setTw(k, tid, W_READS, o.readsPerChild | (o.readsPerMake << 16));
      },
    };
    setupMmMachine(ctx, NAME, o, Array.from({ length: procs }, () => plan), o.pages, -1, (k) => {
      fioDiskInit(k, SOURCE_PAGES);
      setEphmapSlots(k, o.slots);
    });
  },
  create(ctx: ProgramCtx): CpuProgram {
    return new MmCpu(ctx, options(ctx.options, ctx.cpus), PROGRAMS as (TaskStep | undefined)[]);
  },
  endCheck: checkMachineAtEnd,
};
