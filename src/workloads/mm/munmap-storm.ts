// munmap-storm: threads of one process mmap a range of their chunk, touch
// it, munmap it, and check that the range now faults; sizes straddle the
// 33-page flush ceiling, and each unmap empties the thread's PTE table, so
// page tables are freed too (a flush that must reach lazy CPUs).
// Asserts: pages read back what was written; an unmapped page segfaults;
// a sibling's page is zero, this process's data, or unmapped.
//
// Defaults differ from the common ones: procs (2) processes, so CPUs also
// switch between address spaces, and they switch at every op (slice 1)
// with 16 translations prefetched at each switch (switchSpec): CPUs keep
// entering address spaces that other CPUs are unmapping from.
//
// At gupPercent (25) of its steps a thread also pins a random page of a
// sibling's range with get_user_pages_fast (src/kernel/mm/gup.ts), the
// lockless walk that holds page tables only by keeping interrupts off,
// while the sibling's munmap frees the table it walks: under INVLPGB the
// free must wait for it by other means (src/kernel/tlb/table-free.ts).
//
// At chunkPercent (10) of its maps a thread takes its whole 2 MiB chunk
// (touching the first 64 pages), which khugepaged may collapse into one
// 2 MiB block while it is mapped (src/kernel/mm/collapse.ts: `collapsed`
// in the summary); before unmapping such a range the thread checks its
// pages still hold what it wrote.

import { VM_READ, VM_WRITE } from '../../../native-layout/bits.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { sysMmap } from '../../kernel/mm/mmap.js';
import { sysMunmap } from '../../kernel/mm/munmap.js';
import { taskMm } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import { CHUNK_PAGES, KIND_MUNMAP_STORM, W_AUX0, W_AUX1, W_ITER, W_PHASE, W_REGION, mmDomain, secretOf, setTw, tw } from './common.js';
import { processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu } from './runner.js';
import { mmPrograms } from './tlb-flush2.js';
import { expectSegv, gupPeekSibling, peekSiblings, touchPages, verifyPages } from './user-ops.js';

const NAME = 'munmap-storm';
/** Range sizes: around the 33-page ceiling, and a few small and large ones. */
export const MUNMAP_SIZES = [1, 3, 8, 32, 33, 34, 40, 64] as const;
const MAX_SIZE = 64;
const PH_MAP = 0;
const PH_TOUCH = 1;
const PH_UNMAP = 2;

interface MunmapStormOptions extends CommonOptions {
  readonly gupPercent: number;
  /** Share (%) of maps that take the whole 2 MiB chunk, for khugepaged to collapse. */
  readonly chunkPercent: number;
}

export function munmapStormStep(k: KernelCtx, tid: number, cpu: MmCpu, gupPercent = 0, chunkPercent = 0): void {
  const mm = taskMm(k, tid);
  const region = tw(k, tid, W_REGION);
  const iter = tw(k, tid, W_ITER);
  const domain = mmDomain(k, mm);
  const phase = tw(k, tid, W_PHASE);
  if (phase === PH_MAP) {
    // Now and then the whole 2 MiB chunk, which khugepaged may collapse
    // while it is mapped; otherwise a range in the first MAX_SIZE pages,
    // where the siblings peek.
    const whole = chunkPercent > 0 && cpu.rng.below(100) < chunkPercent;
    const size = whole ? CHUNK_PAGES : MUNMAP_SIZES[cpu.rng.below(MUNMAP_SIZES.length)]!;
    const start = whole ? region : region + cpu.rng.below(MAX_SIZE - size + 1);
    if (sysMmap(k, mm, start, size, VM_READ | VM_WRITE) === 0) {
      cpu.stats.mmaps++;
      setTw(k, tid, W_AUX0, start);
      setTw(k, tid, W_AUX1, size);
      setTw(k, tid, W_PHASE, PH_TOUCH);
    }
  } else if (phase === PH_TOUCH) {
    touchPages(k, cpu, tid, mm, tw(k, tid, W_AUX0), Math.min(MAX_SIZE, tw(k, tid, W_AUX1)), domain, (i) => secretOf(tid, iter, i));
    setTw(k, tid, W_PHASE, PH_UNMAP);
  } else {
    const start = tw(k, tid, W_AUX0);
    const size = tw(k, tid, W_AUX1);
    // A whole chunk may have been collapsed since the touch: what was
    // written must have come along (the copy ran after the flush).
    if (size === CHUNK_PAGES) verifyPages(k, cpu, tid, mm, start, MAX_SIZE, domain, (i) => secretOf(tid, iter, i));
    sysMunmap(k, mm, start, size);
    cpu.stats.munmaps++;
    // The last page first: past the ceiling when the range is above it.
    expectSegv(k, cpu, tid, mm, start + size - 1 - (iter % size));
    setTw(k, tid, W_ITER, iter + 1);
    setTw(k, tid, W_PHASE, PH_MAP);
  }
  if (cpu.opts.peekPercent > 0 && cpu.rng.below(100) < cpu.opts.peekPercent) peekSiblings(k, cpu, tid, mm, domain, MAX_SIZE, 4, true);
  if (gupPercent > 0 && cpu.rng.below(100) < gupPercent) gupPeekSibling(k, cpu, tid, mm, domain, MAX_SIZE);
}

const options = (ctx: { options: ProgramCtx['options']; cpus: number }): MunmapStormOptions => ({
  ...commonOptions(NAME, ctx.options, ctx.cpus, { procs: 2, pages: MAX_SIZE, slice: 1, switchSpec: 16 }),
  gupPercent: intOption(NAME, ctx.options, 'gupPercent', 25, 0, 100),
  chunkPercent: intOption(NAME, ctx.options, 'chunkPercent', 10, 0, 100),
});

export const munmapStorm: Scenario = {
  name: NAME,
  description: 'threads mmap, touch and munmap ranges around the 33-page flush ceiling, freeing page tables each time',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('gupPercent', 'chunkPercent'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx);
    const { procs, threads } = processShape(o);
    const plan = { threads, kindOf: () => KIND_MUNMAP_STORM };
    setupMmMachine(ctx, NAME, o, Array.from({ length: procs }, () => plan), Math.min(MAX_SIZE, CHUNK_PAGES));
  },
  create(ctx: ProgramCtx): CpuProgram {
    const o = options(ctx);
    return new MmCpu(ctx, o, mmPrograms({ [KIND_MUNMAP_STORM]: (k, tid, cpu) => munmapStormStep(k, tid, cpu, o.gupPercent, o.chunkPercent) }));
  },
  endCheck: checkMachineAtEnd,
};
