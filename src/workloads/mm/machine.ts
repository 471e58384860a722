// The one-time set-up of an mm scenario, on the main thread before any CPU
// runs: boot the allocator and the kernel objects, create the processes
// and their threads, one kernel thread per CPU, and spread them over the
// run queues.

import { NO_MM, TASK_RUNNABLE } from '../../../native-layout/bits.js';
import { MM_SPEC_CHUNKS, MM_SPEC_PAGES, MM_SPEC_START, MM_STRIDE } from '../../../native-layout/fields.js';
import { bootMachine } from '../../kernel/boot.js';
import { type KernelCtx, applyVariant } from '../../kernel/ctx.js';
import { directMapInit } from '../../kernel/asi/direct-map.js';
import { parseVariant } from '../../kernel/variant.js';
import { enableMmLocalRegion } from '../../kernel/ephmap/region.js';
import { mmAlloc, mmget } from '../../kernel/mm/mm.js';
import { wakeUpNewTask } from '../../kernel/sched/core.js';
import { setTaskState, taskAlloc } from '../../kernel/sched/task.js';
import { makeSmpCtx } from '../../kernel/smp.js';
import type { SetupCtx } from '../program.js';
import { KIND_KTHREAD, USER_BASE_VPN, W_INDEX, W_NTHREADS, W_PAGES, W_REGION, chunkVpn, setTw } from './common.js';
import { type CommonOptions, ScenarioOptionError } from './options.js';
import { ENOMEM } from '../../kernel/mm/pgtable.js';
import { unreachableInjectedBug } from '../../check/bugs.js';

export interface ProcessPlan {
  readonly threads: number;
  /** Task kind of thread i. */
  kindOf(i: number): number;
  /** Program state of a new thread beyond the common words; may map its memory. */
  init?(k: KernelCtx, tid: number, mm: number, i: number): void;
}

/**
 * Boots the machine and creates the processes; returns CPU 0's (main-thread)
 * kernel context. bootKernel runs first, before any process exists (kernel
 * page tables that every PGD must share: see cloneKernelPgd).
 */
export function setupMmMachine(
  ctx: SetupCtx, scenario: string, o: CommonOptions, plans: readonly ProcessPlan[], specPages: number, specChunks = -1,
  bootKernel?: (k: KernelCtx) => void,
): KernelCtx {
  // An injected bug this configuration never reaches is refused here, where
  // the scenario's defaults are known (fixmap-switch turns pti on itself).
  const unreachable = unreachableInjectedBug(String(ctx.options['variant'] ?? 'asi-off'), o as unknown as Record<string, unknown>, scenario);
  if (unreachable !== null) throw new ScenarioOptionError(unreachable);
  // The design under test decides how every mm is built (its nonsensitive
  // space under ASI, with the nonsensitive physmap) and whether kernel
  // mappings are global.
  const variant = parseVariant(String(ctx.options['variant'] ?? 'asi-off'));
  if (variant.gmem !== undefined) {
    // A strategy this scenario has no code for would run clean and name
    // itself in the report: refuse it instead.
    throw new ScenarioOptionError(`--variant ${variant.name}: ${scenario} has no guest_memfd (${variant.gmem} is a strategy of the guest-memfd scenario only)`);
  }
  const k = bootMachine(ctx.mem, makeSmpCtx(ctx.mem, 0, ctx.epochMs), { asi: variant.asi });
  applyVariant(k, variant);
  directMapInit(k, !variant.asi);
  // An ephemeral map needs every mm's local region (ephemeral maps, issue 7).
  if (variant.ephemeral !== 'none') enableMmLocalRegion(k);
  bootKernel?.(k);
  const shape = ctx.mem.layout.shape;
  const tasks = plans.reduce((n, p) => n + p.threads, 0) + (o.kthreads > 0 ? ctx.cpus : 0);
  // The tables are sized from --cpus (native-layout/shape.ts kernelTableDefaults):
  // a limit left is one the options chose, and the message says which.
  if (tasks > shape.maxTasks) {
    throw new ScenarioOptionError(`${scenario}: ${tasks} tasks (user threads + a kernel thread per CPU) do not fit in the ${shape.maxTasks} task slots a ${ctx.cpus}-CPU machine has: lower --option threads or procs`);
  }
  if (plans.length >= shape.maxMms) {
    throw new ScenarioOptionError(`${scenario}: ${plans.length} processes and init_mm do not fit in the ${shape.maxMms} mm slots a ${ctx.cpus}-CPU machine has: lower --option procs (or threads in mode=processes)`);
  }
  let next = 0;
  for (const plan of plans) {
    const mm = mmAlloc(k);
    if (mm < 0) throw new ScenarioOptionError(`${scenario}: no memory for process ${plans.indexOf(plan)}`);
    const at = mm * MM_STRIDE;
    k.mm[at + MM_SPEC_START] = USER_BASE_VPN;
    k.mm[at + MM_SPEC_PAGES] = specPages;
    k.mm[at + MM_SPEC_CHUNKS] = specChunks > 0 ? specChunks : plan.threads;
    for (let i = 0; i < plan.threads; i++) {
      if (i > 0) mmget(k, mm);
      const tid = taskAlloc(k, mm, plan.kindOf(i), -1, -1);
      setTw(k, tid, W_REGION, chunkVpn(i));
      setTw(k, tid, W_PAGES, o.pages);
      setTw(k, tid, W_INDEX, i);
      setTw(k, tid, W_NTHREADS, plan.threads);
      plan.init?.(k, tid, mm, i);
      wakeUpNewTask(k, tid, next++ % ctx.cpus);
    }
  }
  // Per-CPU kernel threads sleep off every queue; their CPU wakes them (runner.ts).
  for (let c = 0; c < ctx.cpus && o.kthreads > 0; c++) setTaskState(k, taskAlloc(k, NO_MM, KIND_KTHREAD, c, -1), TASK_RUNNABLE);
  return k;
}

/**
 * The error for an mmap the set-up needs that failed: ENOMEM is either no
 * free VMA slot in the process (a slot per mapping, sized from --cpus) or
 * no memory for the page tables (--mem); anything else is a bug.
 */
export function setupMmapError(scenario: string, what: string, r: number, k: KernelCtx): ScenarioOptionError {
  if (r === ENOMEM) {
    return new ScenarioOptionError(`${scenario}: mmap of ${what} failed (ENOMEM): a process has ${k.maxVmas} VMA slots (one per thread's mapping) and page tables need --mem: lower --option threads, or raise --mem`);
  }
  return new ScenarioOptionError(`${scenario}: mmap of ${what} failed (${r})`);
}

/** The processes of a scenario: procs x threads ('threads' mode) or threads x 1 ('processes'). */
export function processShape(o: CommonOptions): { procs: number; threads: number } {
  return o.mode === 'threads' ? { procs: o.procs, threads: o.threads } : { procs: o.threads, threads: 1 };
}
