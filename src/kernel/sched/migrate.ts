// migrate_disable() / migrate_enable() (kernel/sched/core.c), reduced to
// what the emulator's scheduler can do to a task: move it to another CPU's
// run queue when it is switched out (runner.ts), or let an idle CPU steal
// it (rq.ts stealTask). Both already leave pinned tasks alone, so disabling
// migration pins the task to the CPU it runs on; the task may still be
// preempted and resumed, on this CPU only. Per task, like
// current->migration_disabled: the state survives a context switch.

import { TASK_PINNED, TASK_STRIDE } from '../../../native-layout/fields.js';
import type { KernelCtx } from '../ctx.js';

/**
 * migrate_disable() for task tid, current on k's CPU. Returns what to hand
 * to migrateEnable: the task's pinning before (a per-CPU kernel thread is
 * pinned for good and stays so).
 */
export function migrateDisable(k: KernelCtx, tid: number): number {
  const at = tid * TASK_STRIDE + TASK_PINNED;
  const prev = k.task[at]!;
  if (prev < 0) k.task[at] = k.cpu;
  return prev;
}

/** migrate_enable(): restores the pinning migrateDisable returned. */
export function migrateEnable(k: KernelCtx, tid: number, prev: number): void {
  k.task[tid * TASK_STRIDE + TASK_PINNED] = prev;
}
