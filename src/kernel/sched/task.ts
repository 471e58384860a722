// struct task_struct slots (task region). A task is a user thread (task.mm
// is its address space) or a kernel thread (NO_MM, runs lazily on whatever
// mm its CPU has loaded). Its workload program state lives in task.w so any
// CPU can run it after a migration.

import { NO_MM, TASK_FREE, TASK_NEW } from '../../../native-layout/bits.js';
import {
  KERNEL_SLOT_LOCK, KMAP_IDX, KMAP_STRIDE, TASK_CPU, TASK_KIND, TASK_MM, TASK_NEXT, TASK_PARENT, TASK_PINNED, TASK_STATE, TASK_STRIDE, TASK_W,
} from '../../../native-layout/fields.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';

/** Words of workload state per task (task.w). */
export const TASK_WORDS = 9;

/** Index of word i of the task's workload state. */
export function taskW(tid: number, i: number): number {
  return tid * TASK_STRIDE + TASK_W + i;
}

export function taskMm(k: KernelCtx, tid: number): number {
  return k.task[tid * TASK_STRIDE + TASK_MM];
}

export function taskState(k: KernelCtx, tid: number): number {
  return Atomics.load(k.task, tid * TASK_STRIDE + TASK_STATE);
}

export function setTaskState(k: KernelCtx, tid: number, state: number): void {
  Atomics.store(k.task, tid * TASK_STRIDE + TASK_STATE, state);
}

export function taskKind(k: KernelCtx, tid: number): number {
  return k.task[tid * TASK_STRIDE + TASK_KIND];
}

/**
 * A new task (TASK_NEW, on no run queue) for address space mm (NO_MM: a
 * kernel thread), or -1 when every slot is taken. The caller holds a user
 * reference on mm for it.
 */
export function taskAlloc(k: KernelCtx, mm: number, kind: number, pinned: number, parent: number): number {
  const t = k.task;
  spinLock(k.kernel, KERNEL_SLOT_LOCK);
  let tid = -1;
  for (let i = 0; i < k.maxTasks; i++) {
    if (t[i * TASK_STRIDE + TASK_STATE] === TASK_FREE) {
      tid = i;
      break;
    }
  }
  if (tid >= 0) {
    const at = tid * TASK_STRIDE;
    for (let i = 0; i < TASK_STRIDE; i++) t[at + i] = 0;
    t[at + TASK_MM] = mm;
    t[at + TASK_KIND] = kind;
    t[at + TASK_PINNED] = pinned;
    t[at + TASK_PARENT] = parent;
    t[at + TASK_CPU] = pinned >= 0 ? pinned : 0;
    t[at + TASK_NEXT] = -1;
    // kmap_local_fork(): a new task starts with an empty kmap_local stack.
    k.views.kmap[tid * KMAP_STRIDE + KMAP_IDX] = 0;
    Atomics.store(t, at + TASK_STATE, TASK_NEW);
  }
  spinUnlock(k.kernel, KERNEL_SLOT_LOCK);
  return tid;
}

/** put_task_struct(): the slot is free again (no CPU runs it, no queue holds it). */
export function taskRelease(k: KernelCtx, tid: number): void {
  k.task[tid * TASK_STRIDE + TASK_MM] = NO_MM;
  Atomics.store(k.task, tid * TASK_STRIDE + TASK_STATE, TASK_FREE);
}
