// The fork step that fork-cow's parents and kernel-compile's make processes
// share: fork unless the parent is at its children cap, hand the child the
// parent's region, then start it on a random CPU knowing which pattern it
// inherited (copy-on-write: the child must read what the parent wrote last
// before the fork, whatever the parent writes after).

import type { KernelCtx } from '../../kernel/ctx.js';
import { wakeUpNewTask } from '../../kernel/sched/core.js';
import { forkProcess } from '../../kernel/sched/fork.js';
import { taskW } from '../../kernel/sched/task.js';
import { W_AUX0, W_AUX1, W_AUX2, W_PAGES, W_PHASE, W_REGION, setTw, tw } from './common.js';
import type { MmCpu } from './runner.js';

/**
 * fork() of task `tid` as a process of `kind`, unless its count of live
 * children (task word `childrenWord`) has reached its cap (task word
 * `capWord`). Returns the child's tid with the parent's region and page
 * count copied, or -1 (at the cap, or the fork failed: counted).
 */
export function forkUnderCap(k: KernelCtx, cpu: MmCpu, tid: number, kind: number, childrenWord: number, capWord: number): number {
  const childrenAt = taskW(tid, childrenWord);
  if (Atomics.load(k.task, childrenAt) >= tw(k, tid, capWord)) return -1;
  const child = forkProcess(k, tid, kind);
  if (child < 0) {
    cpu.stats.forkFailures++;
    return -1;
  }
  cpu.stats.forks++;
  Atomics.add(k.task, childrenAt, 1);
  setTw(k, child, W_REGION, tw(k, tid, W_REGION));
  setTw(k, child, W_PAGES, tw(k, tid, W_PAGES));
  return child;
}

/**
 * Starts a forked child in `phase`: it expects the pattern of generation
 * `gen - 1` of `domain` (the last one its parent wrote before the fork) and
 * reports to parent `tid`. Runs on a random CPU.
 */
export function startForkedChild(k: KernelCtx, cpu: MmCpu, tid: number, child: number, phase: number, gen: number, domain: number): void {
  setTw(k, child, W_PHASE, phase);
  setTw(k, child, W_AUX0, gen - 1);
  setTw(k, child, W_AUX1, domain);
  setTw(k, child, W_AUX2, tid);
  wakeUpNewTask(k, child, cpu.rng.below(k.cpus));
}
