// read()'s page-cache copy through an ephemeral map (the copyFromPageCache
// seam of kernel/mm/copy-page-cache.ts), as shmem_file_read_iter does in
// the ASI branch: with migration disabled, map the page into this CPU's
// slot of the current mm, copy from there (in the nonsensitive address
// space: the mm-local region is mirrored into the nonsensitive PGD, so no
// fault and no asi_exit), put it; if the map is busy, fall back to the
// direct-map copy, which under ASI faults and exits (PAGE_FAULT).
//
// ephmap: K = 1 slot, local flush at put. mermap: a window allocation,
// the reserved page with preemption off when the window is full, no flush
// at put. Both put marks the mm stale for the mitigation flushes.

import { CPU_LOADED_MM, CPU_PREEMPT_COUNT } from '../../../native-layout/fields.js';
import type { KernelCtx } from '../ctx.js';
import { kernelReadPhysmap } from '../asi/access.js';
import { MERMAP_FAIL, mermapGet, mermapGetReserved, mermapPut } from '../mermap/mermap.js';
import { currentTask } from '../sched/core.js';
import { migrateDisable, migrateEnable } from '../sched/migrate.js';
import { ephmapGet, ephmapPut, ephemeralRead } from './ephmap.js';

/** The copy through the ephmap (slot 0), or the physmap when the slot is busy. */
export function copyFromPageCacheViaEphmap(k: KernelCtx, pfn: number): number {
  const mm = k.cpuState[k.cpuAt + CPU_LOADED_MM]!;
  const tid = currentTask(k);
  if (mm <= 0 || tid < 0) return kernelReadPhysmap(k, pfn);
  const pinned = migrateDisable(k, tid);
  const va = ephmapGet(k, mm, 0, pfn, 1, tid);
  let word: number;
  if (va < 0) {
    word = kernelReadPhysmap(k, pfn);
  } else {
    word = ephemeralRead(k, va);
    ephmapPut(k, mm, va, 1);
  }
  migrateEnable(k, tid, pinned);
  return word;
}

/** The copy through the mermap: a window allocation, else the reserved page (preemption off). */
export function copyFromPageCacheViaMermap(k: KernelCtx, pfn: number): number {
  const mm = k.cpuState[k.cpuAt + CPU_LOADED_MM]!;
  const tid = currentTask(k);
  if (mm <= 0 || tid < 0) return kernelReadPhysmap(k, pfn);
  const pinned = migrateDisable(k, tid);
  let va = mermapGet(k, mm, pfn, 1, tid);
  let word: number;
  if (va !== MERMAP_FAIL) {
    word = ephemeralRead(k, va);
    mermapPut(k, mm, va);
  } else {
    const st = k.cpuState;
    st[k.cpuAt + CPU_PREEMPT_COUNT] = st[k.cpuAt + CPU_PREEMPT_COUNT]! + 1;
    va = mermapGetReserved(k, mm, pfn, tid);
    word = ephemeralRead(k, va);
    mermapPut(k, mm, va);
    st[k.cpuAt + CPU_PREEMPT_COUNT] = st[k.cpuAt + CPU_PREEMPT_COUNT]! - 1;
  }
  migrateEnable(k, tid, pinned);
  return word;
}
