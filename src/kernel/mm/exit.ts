// Address-space teardown (kernel/exit.c exit_mm(), kernel/fork.c mmput(),
// mm/mmap.c exit_mmap()). The last user unmaps everything with a fullmm
// gather: every PTE zapped, every table below the PGD unlinked, one flush
// of the whole mm that reaches lazy CPUs too (tables are freed), then the
// frees. The PGD and the record wait for the last mm_count (mm.ts).
// Each VMA leaves the reverse map (vmaErase, under its file's i_mmap lock)
// before any table is freed: a reclaim or truncate walker that found it
// may still be inside its page tables until it drops that lock.

import { MM_DEAD, TASK_DEAD } from '../../../native-layout/bits.js';
import { MM_STATE, MM_STRIDE, MM_USERS, TASK_MM, TASK_STATE, TASK_STRIDE, VMA_END, VMA_FLAGS, VMA_START } from '../../../native-layout/fields.js';
import { KERNEL_HALF } from '../../hw/pte.js';
import { downWrite, upWrite } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { tlbFinishMmu, tlbGatherMmu } from './gather.js';
import { mmapLockAt, mmdrop } from './mm.js';
import { freeEmptyTables } from './munmap.js';
import { vmaAt, vmaErase } from './vma.js';
import { zapPteRange } from './zap.js';
import { countSyscall } from '../account.js';

const USER_PAGES = KERNEL_HALF / 4096;

/** exit_mmap(): no task uses mm any more; unmap it all. */
export function exitMmap(k: KernelCtx, mm: number): void {
  const lock = mmapLockAt(mm);
  downWrite(k.mm, lock);
  const g = tlbGatherMmu(k, mm, true);
  const v = k.vma;
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    if (v[at + VMA_FLAGS] === 0) continue;
    zapPteRange(k, g, mm, v[at + VMA_START], v[at + VMA_END]);
    vmaErase(k, at);
  }
  freeEmptyTables(k, mm, 0, USER_PAGES);
  tlbFinishMmu(k, g);
  Atomics.store(k.mm, mm * MM_STRIDE + MM_STATE, MM_DEAD);
  upWrite(k.mm, lock);
}

/** mmput(): drop a user; the last one tears the address space down and drops mm_users' mm_count. */
export function mmput(k: KernelCtx, mm: number): void {
  if (Atomics.sub(k.mm, mm * MM_STRIDE + MM_USERS, 1) !== 1) return;
  exitMmap(k, mm);
  mmdrop(k, mm);
}

/**
 * do_exit() for the current task: give up the address space (the CPU keeps
 * it loaded as active_mm until it switches away) and become TASK_DEAD; the
 * scheduler releases the slot once it has switched to another task.
 */
export function sysExit(k: KernelCtx, tid: number): void {
  countSyscall(k);
  const at = tid * TASK_STRIDE;
  const mm = k.task[at + TASK_MM];
  Atomics.store(k.task, at + TASK_STATE, TASK_DEAD);
  if (mm >= 0) mmput(k, mm);
}
