// madvise-race (issue 11): munmap racing MADV_DONTNEED of the same range
// under the mmap read lock. The threads of one process share one anonymous
// range A (pages, default 64, in a 2 MiB chunk of its own, so unmapping all
// of it frees its PTE table) and a second range B of as many pages in the
// next chunk, which stays mapped. Each step a thread either
//   - munmap()s the range and maps it again:
//     the VMAs go under the write lock, then the zap and the table free run
//     under the read lock (dd2283f2605e), beside the others' faults and
//     discards (munmapPercent, default 20);
//   - madvise(MADV_DONTNEED)s A through B (madvisePercent, default 50): a
//     gather under the read lock that zaps A when mapped and always B's
//     pages, so it lasts long enough to nest with a munmap's;
//   - or writes its own pages of both (page j belongs to thread j mod
//     threads) and reads each back: the value it wrote, or zero when
//     another thread discarded or unmapped it meanwhile; anything else is a
//     write that landed through a stale translation.
// The per-CPU kernel threads run lazily on the mm and speculatively walk
// its user half through their paging-structure caches: a table freed by a
// munmap whose flush did not reach them (the nested forced flush that
// dropped freed_tables, 7a30df49f63a; injectable as
// nested-flush-drops-freed-tables) is walked after it was reused.
//
// Options: the common ones with pages (64), munmapPercent (20),
// madvisePercent (50); threads default to the CPU count minus one, khugepagedPercent 0
// (the retraction takes the write lock and would serialise the race away).

import { VM_READ, VM_WRITE } from '../../../native-layout/bits.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { FAULT_SIGSEGV } from '../../kernel/mm/fault.js';
import { sysMadviseDontneed } from '../../kernel/mm/madvise.js';
import { sysMmap } from '../../kernel/mm/mmap.js';
import { sysMunmap } from '../../kernel/mm/munmap.js';
import { userRead, userWrite } from '../../kernel/mm/uaccess.js';
import { taskMm } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import {
  CHUNK_PAGES, KIND_MADV_RACER, PAGE, W_AUX0, W_AUX1, W_INDEX, W_ITER, W_NTHREADS, W_PAGES, chunkVpn, contentOf, mmDomain,
  readbackViolation, secretOf, setTw, tw,
} from './common.js';
import { setupMmMachine, setupMmapError } from './machine.js';
import { type CommonOptions, ScenarioOptionError, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu, type TaskStep } from './runner.js';
import { mmPrograms } from './tlb-flush2.js';

const NAME = 'madvise-race';
const W_MUNMAP = W_AUX0;
const W_MADVISE = W_AUX1;

interface Options extends CommonOptions {
  readonly munmapPercent: number;
  readonly madvisePercent: number;
}

function options(ctx: { options: ProgramCtx['options']; cpus: number }): Options {
  const o = ctx.options;
  // One CPU fewer than threads: a CPU left to its kernel thread runs lazily
  // on the mm, which is what a table free must reach.
  const common = commonOptions(NAME, o, ctx.cpus, { threads: Math.max(2, ctx.cpus - 1), pages: 64, khugepagedPercent: 0, compactPercent: 30 });
  if (common.mode !== 'threads' || common.procs !== 1) {
    throw new ScenarioOptionError(`${NAME}: mode=${common.mode} procs=${common.procs} is invalid: the race is between the threads of one process (mode=threads, procs=1)`);
  }
  if (common.threads < 2) throw new ScenarioOptionError(`${NAME} option threads=${common.threads} is invalid: use an integer in 2..64`);
  const munmapPercent = intOption(NAME, o, 'munmapPercent', 20, 0, 100);
  const madvisePercent = intOption(NAME, o, 'madvisePercent', 50, 0, 100);
  if (munmapPercent + madvisePercent > 100) {
    throw new ScenarioOptionError(`${NAME}: munmapPercent=${munmapPercent} + madvisePercent=${madvisePercent} is over 100`);
  }
  return { ...common, munmapPercent, madvisePercent };
}

export function madviseRaceStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const mm = taskMm(k, tid);
  const base = chunkVpn(0);
  const pages = tw(k, tid, W_PAGES);
  const roll = cpu.rng.below(100);
  const munmapPercent = tw(k, tid, W_MUNMAP);
  if (roll < munmapPercent) {
    sysMunmap(k, mm, base, pages);
    cpu.stats.munmaps++;
    // Another thread may have mapped it again first (EEXIST): fine.
    const r = sysMmap(k, mm, base, pages, VM_READ | VM_WRITE);
    if (r === 0) cpu.stats.mmaps++;
    return;
  }
  if (roll < munmapPercent + tw(k, tid, W_MADVISE)) {
    // ENOMEM for the gap between A and B (and A while unmapped): the
    // mapped parts are zapped all the same.
    sysMadviseDontneed(k, mm, base, CHUNK_PAGES + pages);
    cpu.stats.madvises++;
    return;
  }
  const me = tw(k, tid, W_INDEX);
  const n = tw(k, tid, W_NTHREADS);
  const iter = tw(k, tid, W_ITER);
  const domain = mmDomain(k, mm);
  for (let j = me; j < 2 * pages; j += n) {
    const va = (j < pages ? base + j : chunkVpn(1) + j - pages) * PAGE;
    const want = contentOf(domain, secretOf(tid, iter, j));
    const w = userWrite(k, mm, va, domain, want & 0xffff);
    cpu.stats.writes++;
    if (w < 0) {
      // Unmapped by another thread right now.
      if (w === FAULT_SIGSEGV) cpu.stats.expectedSegv++;
      else cpu.stats.oom++;
      continue;
    }
    const got = userRead(k, mm, va);
    cpu.stats.reads++;
    if (got >= 0 && got !== want && got !== 0) readbackViolation(k, tid, cpu.op, va, want, got);
  }
  setTw(k, tid, W_ITER, iter + 1);
}

const PROGRAMS: (TaskStep | undefined)[] = mmPrograms({ [KIND_MADV_RACER]: madviseRaceStep });

export const madviseRace: Scenario = {
  name: NAME,
  description: 'threads munmap (zapping under the read lock), MADV_DONTNEED and write one shared anonymous range at once',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('munmapPercent', 'madvisePercent'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx);
    const plan = {
      threads: o.threads,
      kindOf: () => KIND_MADV_RACER,
      init: (k: KernelCtx, tid: number, mm: number, i: number) => {
        if (i === 0) {
          const r = sysMmap(k, mm, chunkVpn(0), o.pages, VM_READ | VM_WRITE);
          if (r < 0) throw setupMmapError(NAME, 'the shared range', r, k);
          const r2 = sysMmap(k, mm, chunkVpn(1), o.pages, VM_READ | VM_WRITE);
          if (r2 < 0) throw setupMmapError(NAME, 'the second range', r2, k);
        }
        setTw(k, tid, W_MUNMAP, o.munmapPercent);
        setTw(k, tid, W_MADVISE, o.madvisePercent);
      },
    };
    // Speculation covers both ranges (two chunks from the first).
    setupMmMachine(ctx, NAME, o, [plan], o.pages, 2);
  },
  create(ctx: ProgramCtx): CpuProgram {
    return new MmCpu(ctx, options(ctx), PROGRAMS);
  },
  endCheck: checkMachineAtEnd,
};
