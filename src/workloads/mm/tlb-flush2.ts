// tlb-flush2 (will-it-scale tlb_flush2, threads mode): each thread mmaps
// private anonymous memory, then forever touches every page and
// madvise(MADV_DONTNEED)s the lot. All threads of a process share the mm,
// so each madvise shoots down the other CPUs running it; they also read
// their siblings' pages now and then, which puts those pages in their TLBs.
// Asserts: a page reads back what the loop wrote; after the madvise it
// reads zero; a sibling's page is zero or this process's data.
//
// Options (besides the common ones, options.ts): pages (16) per thread;
// share=1 makes every thread discard one shared range (see sharedStep).
// numaPercent (10): the share of steps that also run a NUMA hinting scan
// (change_prot_numa) over one random thread's region, as task_numa_work does;
// migratePagePercent (50): the share of the hinting faults that migrate
// their page (src/kernel/mm/numa.ts, migrate.ts). Private mode only.
// mode=processes gives every thread its own process (no shootdowns, many
// address spaces: ASID reuse and switch_mm).

import { VM_READ, VM_WRITE } from '../../../native-layout/bits.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { sysMadviseDontneed } from '../../kernel/mm/madvise.js';
import { sysMmap } from '../../kernel/mm/mmap.js';
import { taskMm } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import {
  KIND_KTHREAD, KIND_TLB_FLUSH2, PAGE, W_AUX2, W_INDEX, W_ITER, W_NTHREADS, W_PAGES, W_PHASE, W_REGION, chunkVpn,
  contentOf, mmDomain, readbackViolation, secretOf, setTw, tw,
} from './common.js';
import { userRead, userWrite } from '../../kernel/mm/uaccess.js';
import { kthreadStep } from './kthread.js';
import { setupMmapError, processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, ScenarioOptionError, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu, type TaskStep } from './runner.js';
import { expectZero } from './user-ops.js';
import { touchDiscardStep } from './touch-discard.js';
import { changeProtNuma, setNumaMigratePercent } from '../../kernel/mm/numa.js';

const NAME = 'tlb-flush2';
const PH_TOUCH = 0;
const PH_DISCARD = 1;
/** Task word: non-zero in share=1 mode. */
const W_SHARED = W_AUX2;

/**
 * One iteration is two steps: touch every page, then discard them all.
 * numaPercent: the share of steps (private mode) that also run a NUMA
 * hinting scan over the process's regions, as task_numa_work does.
 */
export function tlbFlush2Step(k: KernelCtx, tid: number, cpu: MmCpu, numaPercent = 0): void {
  if (tw(k, tid, W_SHARED) !== 0) {
    sharedStep(k, tid, cpu);
    return;
  }
  touchDiscardStep(k, tid, cpu, false, false);
  if (numaPercent > 0 && cpu.rng.below(100) < numaPercent) numaScanStep(k, tid, cpu);
}

/**
 * One task_numa_work() pass for this thread's process: change_prot_numa
 * over one thread's region (chunk i holds thread i's pages; a random one,
 * as the scan window moves through the mm from pass to pass). Its owner
 * goes on writing those pages through the TLB entries the scan has not
 * flushed yet, and the first access to a PROT_NONE page (the owner's or a
 * peek) takes the hinting fault that may migrate it (src/kernel/mm/numa.ts).
 */
function numaScanStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const start = chunkVpn(cpu.rng.below(tw(k, tid, W_NTHREADS)));
  changeProtNuma(k, taskMm(k, tid), start, start + tw(k, tid, W_PAGES));
  cpu.stats.numaScans++;
}

/**
 * share=1: every thread of the process discards the same range (the first
 * thread's chunk), and each writes only its own pages of it (page i belongs
 * to thread i mod threads). A page of ours reads back what we wrote or, if
 * a sibling's discard got there first, zero; right after our own discard it
 * must be zero, whoever cleared it: the parallel-MADV_DONTNEED rule.
 */
function sharedStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const mm = taskMm(k, tid);
  const base = chunkVpn(0);
  const pages = tw(k, tid, W_PAGES);
  const iter = tw(k, tid, W_ITER);
  const me = tw(k, tid, W_INDEX);
  const n = tw(k, tid, W_NTHREADS);
  const domain = mmDomain(k, mm);
  if (tw(k, tid, W_PHASE) === PH_TOUCH) {
    for (let i = me; i < pages; i += n) touchShared(k, cpu, tid, mm, (base + i) * PAGE, domain, secretOf(tid, iter, i));
    setTw(k, tid, W_PHASE, PH_DISCARD);
  } else {
    sysMadviseDontneed(k, mm, base, pages);
    cpu.stats.madvises++;
    const mine = Math.ceil((pages - me) / n);
    if (mine > 0) expectZero(k, cpu, tid, mm, base + me + n * (iter % mine));
    setTw(k, tid, W_ITER, iter + 1);
    setTw(k, tid, W_PHASE, PH_TOUCH);
  }
}

function touchShared(k: KernelCtx, cpu: MmCpu, tid: number, mm: number, va: number, domain: number, secret: number): void {
  const w = userWrite(k, mm, va, domain, secret);
  cpu.stats.writes++;
  if (w < 0) return;
  const got = userRead(k, mm, va);
  cpu.stats.reads++;
  if (got >= 0 && got !== 0 && got !== contentOf(domain, secret)) readbackViolation(k, tid, cpu.op, va, contentOf(domain, secret), got);
}

/** Maps the thread's region at set-up. */
export function mapThreadRegion(scenario: string, k: KernelCtx, tid: number, mm: number): void {
  const r = sysMmap(k, mm, tw(k, tid, W_REGION), tw(k, tid, W_PAGES), VM_READ | VM_WRITE);
  if (r < 0) throw setupMmapError(scenario, 'a thread region', r, k);
}

interface TlbFlush2Options extends CommonOptions {
  readonly share: number;
  /** Percent of (private-mode) steps that run a NUMA hinting scan of the process. */
  readonly numaPercent: number;
  /** Percent of NUMA hinting faults that migrate their page. */
  readonly migratePagePercent: number;
}

function options(ctx: { options: ProgramCtx['options']; cpus: number }): TlbFlush2Options {
  // (scenario presets are merged into ctx.options by the caller)
  return {
    ...commonOptions(NAME, ctx.options, ctx.cpus),
    share: intOption(NAME, ctx.options, 'share', 0, 0, 1),
    numaPercent: intOption(NAME, ctx.options, 'numaPercent', 10, 0, 100),
    migratePagePercent: intOption(NAME, ctx.options, 'migratePagePercent', 50, 0, 100),
  };
}

export function mmPrograms(extra: Record<number, TaskStep>): (TaskStep | undefined)[] {
  const p: (TaskStep | undefined)[] = [];
  p[KIND_KTHREAD] = kthreadStep;
  for (const [kind, step] of Object.entries(extra)) p[Number(kind)] = step;
  return p;
}


function tlbFlush2Scenario(name: string, description: string, preset: Record<string, number>): Scenario {
  const opts = (ctx: { options: ProgramCtx['options']; cpus: number }) => options({ ...ctx, options: { ...preset, ...ctx.options } });
  return {
    name,
    description,
    memBytes: 16 * 2 ** 20,
    optionNames: mmOptionNames('share', 'numaPercent', 'migratePagePercent'),
    setup(ctx: SetupCtx): void {
      const o = opts(ctx);
      const { procs, threads } = processShape(o);
      const plan = {
        threads,
        kindOf: () => KIND_TLB_FLUSH2,
        init: (k: KernelCtx, tid: number, mm: number, i: number) => {
          // Shared mode: one range, mapped once, that every thread discards.
          if (o.share === 0 || i === 0) mapThreadRegion(name, k, tid, mm);
          setTw(k, tid, W_SHARED, o.share);
        },
      };
      // Shared mode has one range (chunk 0): aim the speculation there.
      setupMmMachine(ctx, name, o, Array.from({ length: procs }, () => plan), o.pages, o.share === 0 ? threads : 1);
    },
    create(ctx: ProgramCtx): CpuProgram {
      const o = opts(ctx);
      const cpu = new MmCpu(ctx, o, mmPrograms({ [KIND_TLB_FLUSH2]: (k, tid, c) => tlbFlush2Step(k, tid, c, o.numaPercent) }));
      setNumaMigratePercent(o.migratePagePercent, ctx.seed * 64 + ctx.cpu);
      return cpu;
    },
    endCheck: checkMachineAtEnd,
  };
}

export const tlbFlush2 = tlbFlush2Scenario(NAME,
  'threads touch their private anonymous pages and madvise(DONTNEED) them, shooting down each other (will-it-scale tlb_flush2)', {});

/** tlb-flush2 with share=1: parallel MADV_DONTNEED of one range. */
export const tlbFlush2Shared = tlbFlush2Scenario(`${NAME}-shared`,
  'tlb-flush2 with every thread discarding one shared range (parallel MADV_DONTNEED; share=1)', { share: 1 });

/**
 * Three three-thread tlb-flush2 processes time-sharing the CPUs, switching
 * at every op with 32 translations prefetched per switch: switch_mm races
 * every flush. Few threads per process keep most flushes filtered by
 * should_flush_tlb (concurrent discards in one mm make them unfiltered).
 */
export const tlbFlush2Mixed = tlbFlush2Scenario(`${NAME}-mixed`,
  'three 3-thread tlb-flush2 processes time-sharing the CPUs, switching address space at every op',
  { procs: 3, threads: 3, slice: 1, switchSpec: 32, peekPercent: 100 });

/**
 * tlb-flush2-mixed with share=1: every discard of a process's one range also
 * zaps the pages its other threads touch next, so a CPU switching back into
 * the process uses its cached translations of them within its first op. A
 * switch_mm that missed a concurrent flush (switch-mm-no-fence) shows at
 * once instead of waiting for a lucky peek.
 */
export const tlbFlush2SharedMixed = tlbFlush2Scenario(`${NAME}-shared-mixed`,
  'three 3-thread processes each discarding one shared range, switching address space at every op',
  { share: 1, procs: 3, threads: 3, slice: 1, switchSpec: 32 });
