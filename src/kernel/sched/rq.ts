// Per-CPU run queues (kernel/sched, reduced to round robin): a FIFO of
// runnable tasks linked through task.next, under the queue's spinlock. Any
// CPU may enqueue on any queue (migration, wake-up of a forked child); only
// the owner dequeues.

import { TASK_CPU, TASK_NEXT, TASK_PINNED, TASK_STRIDE, RQ_HEAD, RQ_LOCK, RQ_NR, RQ_STRIDE, RQ_TAIL } from '../../../native-layout/fields.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import { ringCpu } from '../../sync/wake.js';
import type { KernelCtx } from '../ctx.js';

export function enqueueTask(k: KernelCtx, cpu: number, tid: number): void {
  const rq = k.rq;
  const t = k.task;
  const at = cpu * RQ_STRIDE;
  spinLock(rq, at + RQ_LOCK);
  t[tid * TASK_STRIDE + TASK_NEXT] = -1;
  t[tid * TASK_STRIDE + TASK_CPU] = cpu;
  const tail = rq[at + RQ_TAIL];
  if (tail < 0) rq[at + RQ_HEAD] = tid;
  else t[tail * TASK_STRIDE + TASK_NEXT] = tid;
  rq[at + RQ_TAIL] = tid;
  rq[at + RQ_NR]++;
  spinUnlock(rq, at + RQ_LOCK);
  // resched_curr() on a remote CPU: an idle one sleeps on its wake word
  // until something rings it, so a task queued there must ring (the
  // kernel's reschedule IPI; a running CPU only pays an increment).
  if (cpu !== k.cpu) ringCpu(k.smp.ipi, cpu);
}

/** The first runnable task of this CPU's queue, taken off it, or -1. */
export function dequeueTask(k: KernelCtx): number {
  const rq = k.rq;
  const t = k.task;
  const at = k.cpu * RQ_STRIDE;
  spinLock(rq, at + RQ_LOCK);
  const tid = rq[at + RQ_HEAD];
  if (tid >= 0) {
    const next = t[tid * TASK_STRIDE + TASK_NEXT];
    rq[at + RQ_HEAD] = next;
    if (next < 0) rq[at + RQ_TAIL] = -1;
    rq[at + RQ_NR]--;
    t[tid * TASK_STRIDE + TASK_NEXT] = -1;
  }
  spinUnlock(rq, at + RQ_LOCK);
  return tid;
}

/**
 * Idle balancing, reduced: takes the first task of cpu's queue that may
 * migrate (not pinned), or -1. The caller runs it.
 */
export function stealTask(k: KernelCtx, cpu: number): number {
  const rq = k.rq;
  const t = k.task;
  const at = cpu * RQ_STRIDE;
  spinLock(rq, at + RQ_LOCK);
  let prev = -1;
  let tid = rq[at + RQ_HEAD];
  while (tid >= 0 && t[tid * TASK_STRIDE + TASK_PINNED] >= 0) {
    prev = tid;
    tid = t[tid * TASK_STRIDE + TASK_NEXT];
  }
  if (tid >= 0) {
    const next = t[tid * TASK_STRIDE + TASK_NEXT];
    if (prev < 0) rq[at + RQ_HEAD] = next;
    else t[prev * TASK_STRIDE + TASK_NEXT] = next;
    if (rq[at + RQ_TAIL] === tid) rq[at + RQ_TAIL] = prev;
    rq[at + RQ_NR]--;
    t[tid * TASK_STRIDE + TASK_NEXT] = -1;
  }
  spinUnlock(rq, at + RQ_LOCK);
  return tid;
}
