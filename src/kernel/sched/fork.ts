// kernel_clone() for a new process: a copy of the parent's address space
// (mm/fork.ts dupMm) and a task to run in it. The caller sets the child's
// program state and wakes it (wakeUpNewTask).

import { TASK_MM, TASK_STRIDE } from '../../../native-layout/fields.js';
import type { KernelCtx } from '../ctx.js';
import { mmput } from '../mm/exit.js';
import { dupMm } from '../mm/fork.js';
import { ENOMEM } from '../mm/pgtable.js';
import { taskAlloc } from './task.js';
import { countSyscall } from '../account.js';

/** Forks the process of task parent: the child task (TASK_NEW) running `kind`, or a negative errno. */
export function forkProcess(k: KernelCtx, parent: number, kind: number): number {
  countSyscall(k);
  const mm = dupMm(k, k.task[parent * TASK_STRIDE + TASK_MM]);
  if (mm < 0) return mm;
  const tid = taskAlloc(k, mm, kind, -1, parent);
  if (tid < 0) {
    mmput(k, mm);
    return ENOMEM;
  }
  return tid;
}
