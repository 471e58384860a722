// Event accounting for the cost model (issue 9): the kernel paths that are
// a real cost of a design but had no counter of their own. Each is one
// increment of this CPU's counter block (no allocation, no atomics: only
// the owner CPU writes its block), so the hot paths may call them freely.

import { C } from '../../native-layout/counters.js';
import type { KernelCtx } from './ctx.js';

const CNT_SYSCALLS = C.syscalls;
const CNT_PAGE_COPIES = C.pageCopies;
const CNT_CONTEXT_SWITCHES = C.contextSwitches;

/**
 * One emulated system call, entry and exit together (the entry_SYSCALL_64
 * path: mitigations on entry, the return to user). Called once at the top
 * of every sys* function, so a syscall that fails its argument check still
 * pays for the trip into the kernel, as on hardware.
 */
export function countSyscall(k: KernelCtx): void {
  k.counters[k.countersAt + CNT_SYSCALLS] += 1;
}

/** One 4 KiB copy (copy_page / copy_to_user of a full page): read()'s copy, copy-on-write, migration. */
export function countPageCopy(k: KernelCtx): void {
  k.counters[k.countersAt + CNT_PAGE_COPIES] += 1;
}

/** One context_switch() to a different task (kernel/sched/core.c). */
export function countContextSwitch(k: KernelCtx): void {
  k.counters[k.countersAt + CNT_CONTEXT_SWITCHES] += 1;
}
