// context_switch() (kernel/sched/core.c), reduced. schedule()'s choice of
// the next task (round robin over the CPU's run queue, idle balancing, the
// per-CPU kernel thread, migration by the choice of queue for the task
// switched out) is the CPU program's: src/workloads/mm/runner.ts,
// reschedule().
//
// Memory-management side, as context_switch() does it: a user task gets
// its mm loaded (switch_mm_irqs_off) and becomes the CPU's active_mm; a
// kernel thread keeps the previous active_mm loaded and enters lazy TLB
// mode. Each CPU holds an mm_count on its active_mm, dropped in
// finish_task_switch() once the switch is over (the drop may free the mm).

import { NO_MM, TASK_DEAD, TASK_RUNNABLE, TASK_RUNNING } from '../../../native-layout/bits.js';
import { RQ_ACTIVE_MM, RQ_CURR, RQ_STRIDE, TASK_MM, TASK_STATE, TASK_STRIDE } from '../../../native-layout/fields.js';
import type { KernelCtx } from '../ctx.js';
import { mmCheckSchedulable, mmdrop, mmgrab } from '../mm/mm.js';
import { localIrqRestore, localIrqSave } from '../smp.js';
import { switchMmIrqsOff } from '../tlb/switch-mm.js';
import { enqueueTask } from './rq.js';
import { taskRelease } from './task.js';
import { kmapLocalSchedIn, kmapLocalSchedOut } from '../ephmap/kmap-local.js';
import { countContextSwitch } from '../account.js';
import { EV_CTX_SWITCH } from '../../trace/events.js';

export function currentTask(k: KernelCtx): number {
  return k.rq[k.cpu * RQ_STRIDE + RQ_CURR];
}

export function activeMm(k: KernelCtx): number {
  return k.rq[k.cpu * RQ_STRIDE + RQ_ACTIVE_MM];
}

/** context_switch(): next (-1: idle) becomes current; returns the mm to mmdrop after the switch, or -1. */
function contextSwitch(k: KernelCtx, next: number): number {
  const rqAt = k.cpu * RQ_STRIDE;
  const flags = localIrqSave(k.smp);
  const nextMm = next >= 0 ? k.task[next * TASK_STRIDE + TASK_MM] : NO_MM;
  const prevActive = k.rq[rqAt + RQ_ACTIVE_MM];
  let drop = -1;
  // The design's switch-time asi_exit (every switch, or only a change of mm).
  k.asi.contextSwitch(k, nextMm);
  if (nextMm === NO_MM) {
    // A kernel thread (or idle) borrows the active mm: no CR3 write.
    k.lazyTlb.enterLazyTlb(k);
  } else {
    // Oracle: next holds a user of nextMm, so it is live with its PGD
    // (a clear MmStateError here, rather than walks through a freed PGD).
    mmCheckSchedulable(k, next, nextMm);
    switchMmIrqsOff(k, nextMm);
    if (prevActive !== nextMm) {
      mmgrab(k, nextMm);
      k.rq[rqAt + RQ_ACTIVE_MM] = nextMm;
      drop = prevActive;
    }
  }
  k.smp.trace.emit(EV_CTX_SWITCH, k.rq[rqAt + RQ_CURR]!, next, nextMm);
  k.rq[rqAt + RQ_CURR] = next;
  countContextSwitch(k);
  if (next >= 0) Atomics.store(k.task, next * TASK_STRIDE + TASK_STATE, TASK_RUNNING);
  localIrqRestore(k.smp, flags);
  return drop;
}

/**
 * __schedule() once the next task is picked: switch from the current task
 * to `next` (-1: idle). The task switched out is released if it exited,
 * queued on `requeueCpu` (another CPU's queue: migration), or, with
 * requeueCpu -1, left off every queue (a kernel thread going back to sleep;
 * whoever wakes it switches to it). Returns next.
 */
export function switchToTask(k: KernelCtx, next: number, requeueCpu: number): number {
  const prev = currentTask(k);
  if (next === prev) return next;
  const prevDead = prev >= 0 && Atomics.load(k.task, prev * TASK_STRIDE + TASK_STATE) === TASK_DEAD;
  // kmap_local slots are per CPU and time-shared: prepare_task_switch
  // clears prev's, finish_task_switch restores next's.
  if (prev >= 0) kmapLocalSchedOut(k, prev);
  const drop = contextSwitch(k, next);
  if (next >= 0) kmapLocalSchedIn(k, next);
  // finish_task_switch(): prev is off this CPU now.
  if (drop >= 0) mmdrop(k, drop);
  if (prev >= 0) {
    if (prevDead) taskRelease(k, prev);
    else {
      Atomics.store(k.task, prev * TASK_STRIDE + TASK_STATE, TASK_RUNNABLE);
      if (requeueCpu >= 0) enqueueTask(k, requeueCpu, prev);
    }
  }
  return next;
}

/** wake_up_new_task(): a TASK_NEW task joins cpu's queue. */
export function wakeUpNewTask(k: KernelCtx, tid: number, cpu: number): void {
  Atomics.store(k.task, tid * TASK_STRIDE + TASK_STATE, TASK_RUNNABLE);
  enqueueTask(k, cpu, tid);
}
