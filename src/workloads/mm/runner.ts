// The CPU program of every mm scenario: a scheduler loop. Each op runs one
// step of the CPU's current task (a burst of user accesses, a syscall, a
// kernel thread's work) and, at the end of its time slice, schedules; the
// task switched out stays on this CPU or migrates. Between steps the
// hardware speculates (SEMANTICS.md §1), lazy CPUs included.

import { NO_MM, TASK_DEAD } from '../../../native-layout/bits.js';
import { RQ_NR, RQ_STRIDE, TASK_KIND, TASK_MM, TASK_PINNED, TASK_STATE, TASK_STRIDE } from '../../../native-layout/fields.js';
import { cpuBringup } from '../../kernel/boot.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { currentTask, switchToTask } from '../../kernel/sched/core.js';
import { dequeueTask, stealTask } from '../../kernel/sched/rq.js';
import { taskKind, taskState } from '../../kernel/sched/task.js';
import { pollIpis, smpIdleWait } from '../../kernel/smp.js';

/** An idle CPU's tick (ms, HZ = 250): how long a queued task on a busy CPU may wait to be stolen. */
const IDLE_TICK_MS = 4;
import { loadedMm } from '../../kernel/tlb/switch-mm.js';
import { speculate, speculateKernel } from '../../kernel/tlb/speculate.js';
import { applyVariant } from '../../kernel/ctx.js';
import { parseVariant } from '../../kernel/variant.js';
import type { CpuProgram, ProgramCtx } from '../program.js';
import { Xorshift32 } from '../prng.js';
import { KIND_KTHREAD } from './common.js';
import { numaTally, resetNumaTally, setNumaMigratePercent } from '../../kernel/mm/numa.js';
import { hugetlbTally } from '../../kernel/mm/hugetlb.js';
import type { CommonOptions } from './options.js';
import { setPtiUser } from '../../kernel/tlb/user-pcid.js';

/** Per-CPU tallies reported in the run summary. */
export class MmStats {
  steps = 0;
  idle = 0;
  switches = 0;
  migrations = 0;
  steals = 0;
  kthreadSteps = 0;
  kernelPages = 0;
  retracted = 0;
  /** khugepaged collapses: ranges copied into a 2 MiB block and remapped, and ranges it looked at but left (pinned, shared, not present, no memory). */
  collapsed = 0;
  collapseAborts = 0;
  mmaps = 0;
  munmaps = 0;
  madvises = 0;
  mremaps = 0;
  /** mremaps that moved a whole PTE table (mremap-truncate between its aligned places). */
  tableMoves = 0;
  truncates = 0;
  forks = 0;
  forkFailures = 0;
  exits = 0;
  writes = 0;
  reads = 0;
  peeks = 0;
  /** get_user_pages_fast calls (munmap-storm's gupPercent), and those that pinned fewer pages than asked. */
  gupFast = 0;
  gupFastMisses = 0;
  /** hugetlb-share: mmaps of the hugetlbfs file, PMD tables shared at a fault, and unshared at a munmap. */
  hugetlbMaps = 0;
  hugetlbShares = 0;
  hugetlbUnshares = 0;
  /** NUMA hinting scans (tlb-flush2's numaPercent), hinting faults taken, and pages those faults migrated. */
  numaScans = 0;
  numaFaults = 0;
  pagesMigrated = 0;
  /** Faults that found a migration entry and waited for it. */
  migrationWaits = 0;
  /** Pages kcompactd moved (compactPercent). */
  compactMigrated = 0;
  segv = 0;
  expectedSegv = 0;
  oom = 0;
}

/** One step of a task's program; the task is current on k's CPU. */
export type TaskStep = (k: KernelCtx, tid: number, cpu: MmCpu) => void;

export class MmCpu implements CpuProgram {
  readonly k: KernelCtx;
  readonly rng: Xorshift32;
  readonly stats = new MmStats();
  readonly opts: CommonOptions;
  /** Op number, for violation records. */
  op = 0;
  private sliceLeft = 0;
  /** This CPU's kernel thread (never queued: it sleeps between runs), -1 none. */
  private readonly kthread: number;
  readonly poll: () => void;

  constructor(ctx: ProgramCtx, opts: CommonOptions, private readonly programs: readonly (TaskStep | undefined)[]) {
    this.opts = opts;
    this.rng = new Xorshift32(ctx.seed, ctx.cpu);
    this.k = cpuBringup(ctx.mem, ctx.smp);
    this.k.switchSpecFills = opts.switchSpec;
    this.k.pti = opts.pti === 1;
    const variant = parseVariant(String(ctx.options['variant'] ?? 'asi-off'));
    applyVariant(this.k, variant);
    // PTI's user PCID: with the option, unless ASI (which has its own
    // address-space split) is on.
    setPtiUser(this.k, opts.pti === 1 && !variant.asi);
    this.k.mmu.storeBuffer.drainDelayNs = opts.sbDrainNs;
    this.kthread = findKthread(this.k);
    // This CPU's NUMA hinting state starts clean: no migrations unless the scenario asks (setNumaMigratePercent).
    resetNumaTally();
    hugetlbTally.shares = 0;
    hugetlbTally.unshares = 0;
    setNumaMigratePercent(0);
    const smp = ctx.smp;
    this.poll = () => pollIpis(smp);
  }

  step(): void {
    const k = this.k;
    let tid = currentTask(k);
    if (this.sliceLeft <= 0 || tid < 0 || taskState(k, tid) === TASK_DEAD) {
      tid = this.reschedule(tid);
    }
    this.sliceLeft--;
    this.op++;
    if (tid >= 0) {
      this.stats.steps++;
      k.mmu.setOracleContext(tid, this.op);
      const step = this.programs[taskKind(k, tid)];
      if (step === undefined) throw new Error(`task ${tid} has kind ${taskKind(k, tid)}, which this scenario has no program for`);
      // The op boundary is a return to user mode (asi_enter under ASI).
      const mm = k.task[tid * TASK_STRIDE + TASK_MM];
      if (mm !== NO_MM) k.asi.returnToUser(k, mm);
      step(k, tid, this);
    } else {
      // Idle: halt until an IPI, a task queued here (enqueueTask rings),
      // or the idle tick, at which the next reschedule tries to steal
      // from a busier CPU (idle balancing at the tick, as the kernel's).
      this.stats.idle++;
      smpIdleWait(k.smp, 50, IDLE_TICK_MS);
    }
    const spec = this.opts.specPercent;
    if (spec > 0 && this.rng.below(100) < spec) {
      speculate(k, loadedMm(k), 2);
      speculateKernel(k, 1);
    }
  }

  /**
   * Ends the current task's time slice: the next op reschedules (a task
   * that sleeps in the kernel, e.g. a copy that faulted on its user buffer).
   */
  endSlice(): void {
    this.sliceLeft = 0;
  }

  /**
   * The scheduling decision: the per-CPU kernel thread wakes up now and then
   * between user tasks (and runs kthreadSlice ops, lazily on their mm); otherwise the
   * next queued task runs, or one stolen from a busier CPU, or the current
   * one goes on; with nothing at all the CPU idles (lazily too).
   */
  private reschedule(prev: number): number {
    const k = this.k;
    const prevUser = prev >= 0 && prev !== this.kthread && taskState(k, prev) !== TASK_DEAD;
    let next: number;
    if (this.kthread >= 0 && prev !== this.kthread && this.rng.below(100) < this.opts.kthreadPercent) {
      next = this.kthread;
    } else {
      next = dequeueTask(k);
      if (next < 0) next = this.idleBalance();
      if (next < 0 && prevUser) {
        this.sliceLeft = this.opts.slice;
        return prev;
      }
    }
    let requeue = -1;
    if (prevUser) {
      requeue = k.cpu;
      if (k.cpus > 1 && k.task[prev * TASK_STRIDE + TASK_PINNED] < 0 && this.rng.below(100) < this.opts.migratePercent) {
        requeue = (k.cpu + 1 + this.rng.below(k.cpus - 1)) % k.cpus;
        this.stats.migrations++;
      }
    }
    switchToTask(k, next, requeue);
    if (next !== prev) this.stats.switches++;
    this.sliceLeft = next === this.kthread ? this.opts.kthreadSlice : this.opts.slice;
    return next;
  }

  /** Takes a waiting task from the CPU with the longest queue. */
  private idleBalance(): number {
    const k = this.k;
    let best = -1;
    let most = 0;
    for (let c = 0; c < k.cpus; c++) {
      if (c === k.cpu) continue;
      const n = Atomics.load(k.rq, c * RQ_STRIDE + RQ_NR);
      if (n > most) {
        most = n;
        best = c;
      }
    }
    if (best < 0) return -1;
    const tid = stealTask(k, best);
    if (tid >= 0) this.stats.steals++;
    return tid;
  }

  finish(): Record<string, unknown> {
    // Hinting faults and migrations happen in the fault path: its tallies are per CPU.
    this.stats.numaFaults = numaTally.faults;
    this.stats.pagesMigrated = numaTally.migrated;
    this.stats.migrationWaits = numaTally.migrationWaits;
    this.stats.hugetlbShares = hugetlbTally.shares;
    this.stats.hugetlbUnshares = hugetlbTally.unshares;
    return { ...this.stats };
  }
}

function findKthread(k: KernelCtx): number {
  const t = k.task;
  for (let tid = 0; tid < k.maxTasks; tid++) {
    const at = tid * TASK_STRIDE;
    if (t[at + TASK_STATE] !== 0 && t[at + TASK_MM] === NO_MM && t[at + TASK_KIND] === KIND_KTHREAD && t[at + TASK_PINNED] === k.cpu) return tid;
  }
  return -1;
}
