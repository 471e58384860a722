// tlb-flush1 and tlb-flush3 (will-it-scale tlb_flush1 / tlb_flush3,
// threads mode): like tlb-flush2 (tlb-flush2.ts), but each thread's region
// maps a page-cache file (src/kernel/mm/filemap.ts) instead of anonymous
// memory. Each thread works on its own slice of the file(s): slice g covers
// file pages [g * pages, (g + 1) * pages) counted across the files, with no
// slice straddling two files.
//
// - tlb-flush1: a private file mapping. Every iteration first reads one
//   page (read fault: the cache page, mapped read-only; then the write
//   copies it, do_wp_page), writes every page (the others take
//   do_cow_fault), reads each back, madvise(DONTNEED)s the lot and checks
//   a page reads the file's content again (zero: private writes never
//   reach the file). The discarded copies are anonymous pages: freed by the
//   gather, so the flush ordering is what keeps them safe.
// - tlb-flush3: a shared file mapping. Writes go to the cache pages; after
//   madvise(DONTNEED) a page still reads what was written, since the cache
//   keeps it. Nothing is freed by the discard (stale translations point at
//   live cache pages), so free-ordering bugs are invisible here; the
//   shootdowns still hit every thread of the mm, and khugepaged retracts the
//   PTE tables the discards emptied.
//
// Options: the common ones (options.ts), pages (16) per thread. mode=
// processes gives each thread its own process: for tlb-flush3 they map
// slices of the same shared file; for tlb-flush1 the same file privately.

import { VM_READ, VM_SHARED, VM_WRITE } from '../../../native-layout/bits.js';
import { FILE_MAX, FILE_NR_PAGES } from '../../../native-layout/fields.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { sysMmap } from '../../kernel/mm/mmap.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import {
  KIND_TLB_FLUSH1, KIND_TLB_FLUSH3, W_REGION, tw,
} from './common.js';
import { setupMmapError, processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, ScenarioOptionError, commonOptions, mmOptionNames } from './options.js';
import { MmCpu, type TaskStep } from './runner.js';
import { mmPrograms } from './tlb-flush2.js';
import { touchDiscardStep } from './touch-discard.js';

/** File and page offset of slice g (slices of `pages` pages, none across two files). */
export function fileSlice(g: number, pages: number): { file: number; pgoff: number } | null {
  const perFile = Math.floor(FILE_NR_PAGES / pages);
  const file = Math.floor(g / perFile);
  if (perFile === 0 || file >= FILE_MAX) return null;
  return { file, pgoff: (g % perFile) * pages };
}

/** tlb_flush1: private file mapping; discarded pages read the file (zero) again. */
export function tlbFlush1Step(k: KernelCtx, tid: number, cpu: MmCpu): void {
  touchDiscardStep(k, tid, cpu, true, false);
}

/** tlb_flush3: shared file mapping; discarded pages still hold what was written. */
export function tlbFlush3Step(k: KernelCtx, tid: number, cpu: MmCpu): void {
  touchDiscardStep(k, tid, cpu, false, true);
}

const PROGRAMS = mmPrograms({ [KIND_TLB_FLUSH1]: tlbFlush1Step, [KIND_TLB_FLUSH3]: tlbFlush3Step });

function fileScenario(name: string, description: string, kind: number, shared: boolean): Scenario {
  const opts = (ctx: { options: ProgramCtx['options']; cpus: number }): CommonOptions => commonOptions(name, ctx.options, ctx.cpus);
  return {
    name,
    description,
    memBytes: 16 * 2 ** 20,
    optionNames: mmOptionNames(),
    setup(ctx: SetupCtx): void {
      const o = opts(ctx);
      const { procs, threads } = processShape(o);
      if (fileSlice(procs * threads - 1, o.pages) === null) {
        throw new ScenarioOptionError(`${name}: ${procs * threads} slices of ${o.pages} pages do not fit in the page cache (${FILE_MAX} files of ${FILE_NR_PAGES} pages)`);
      }
      const vmFlags = VM_READ | VM_WRITE | (shared ? VM_SHARED : 0);
      const plans = Array.from({ length: procs }, (_, p) => ({
        threads,
        kindOf: () => kind,
        init: (k: KernelCtx, tid: number, mm: number, i: number) => {
          const s = fileSlice(p * threads + i, o.pages)!;
          const r = sysMmap(k, mm, tw(k, tid, W_REGION), o.pages, vmFlags, s.file, s.pgoff);
          if (r < 0) throw setupMmapError(name, 'a thread\'s file slice', r, k);
        },
      }));
      setupMmMachine(ctx, name, o, plans, o.pages, threads);
    },
    create(ctx: ProgramCtx): CpuProgram {
      return new MmCpu(ctx, opts(ctx), PROGRAMS as (TaskStep | undefined)[]);
    },
    endCheck: checkMachineAtEnd,
  };
}

export const tlbFlush1 = fileScenario('tlb-flush1',
  'threads write their private file mapping (copy-on-write from the page cache) and madvise(DONTNEED) it (will-it-scale tlb_flush1)',
  KIND_TLB_FLUSH1, false);

export const tlbFlush3 = fileScenario('tlb-flush3',
  'threads write their shared file mapping and madvise(DONTNEED) it; the page cache keeps the data (will-it-scale tlb_flush3)',
  KIND_TLB_FLUSH3, true);
