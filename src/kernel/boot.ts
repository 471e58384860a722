// Kernel object set-up: init_mm, empty task and run-queue tables, each
// CPU's tlb_state, on a machine whose page allocator is booted
// (start_kernel's mm_init / sched_init, reduced). kernelBoot runs once, on
// one thread, before any CPU does; cpuBringup runs on each CPU as it comes
// up and loads init_mm (the idle task's address space).

import { INIT_MM, LOADED_MM_NONE, MM_LIVE, NO_MM, TASK_FREE, TLB_NR_DYN_ASIDS, USER_PCID_FLUSH_WORDS } from '../../native-layout/bits.js';
import {
  CPU_ASI_CURR, CPU_ASI_LAST_MM, CPU_USER_PCID_FLUSH_MASK, CPU_GHOST_CTX_ID, CPU_GHOST_TLB_GEN, CPU_ASI_TAINTS, CPU_ASI_TLB_GEN, CPU_CTX_ID, CPU_CTX_TLB_GEN, CPU_INVALIDATE_OTHER, CPU_IS_LAZY, CPU_LOADED_MM, CPU_LOADED_MM_ASID, CPU_NEXT_ASID,
  CPU_STRIDE, KERNEL_BOOTED, MM_STATE, MM_STRIDE, RQ_ACTIVE_MM, RQ_CURR, RQ_HEAD, RQ_STRIDE, RQ_TAIL, TASK_MM,
  TASK_NEXT, TASK_STATE, TASK_STRIDE,
} from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { initPtSlots } from '../hw/ptstore.js';
import { type KernelCtx, makeKernelCtx } from './ctx.js';
import { mmInitRecord } from './mm/mm.js';
import { pgdAlloc, type FrameAllocator } from './mm/pgtable.js';
import { PageAllocator } from './page_alloc/index.js';
import { type SmpCtx, localIrqRestore, localIrqSave } from './smp.js';
import { tlbInitThread } from './tlb/index.js';
import { switchMmIrqsOff } from './tlb/switch-mm.js';
import { asiEnabled, asiPhysmapInit } from './asi/physmap.js';
import { installAsiFlip } from './asi/flip-ops.js';
import { installUnmappedOps } from './asi/unmapped-ops.js';
import { globalAsidInit } from './tlb/global-asid.js';

export class KernelBootError extends Error {
  override name = 'KernelBootError';
}

/**
 * Boots the kernel objects on a machine whose zone is booted. k is any
 * CPU's context on this thread (the page-table pages are charged to it).
 */
export function kernelBoot(k: KernelCtx): void {
  const v = k.views;
  const shape = k.mem.layout.shape;
  // A reset: no translation cached from a previous life of this memory
  // (its frames' generations start over with the zone).
  v.tlb4k.fill(0);
  v.tlbHuge.fill(0);
  v.tlbVictim.fill(0);
  v.psc.fill(0);
  initPtSlots(v.ptSlots, shape.ptPages);
  v.kernel.fill(0);
  v.mm.fill(0);
  v.vma.fill(0);
  v.task.fill(0);
  // ephemeral maps (issue 7): per (mm, CPU) windows and per-task kmap_local stacks start empty.
  v.ephem.fill(0);
  v.kmap.fill(0);
  v.ptLock.fill(0);
  for (let t = 0; t < shape.maxTasks; t++) {
    v.task[t * TASK_STRIDE + TASK_STATE] = TASK_FREE;
    v.task[t * TASK_STRIDE + TASK_MM] = NO_MM;
    v.task[t * TASK_STRIDE + TASK_NEXT] = -1;
  }
  const pgd = pgdAlloc(k.env, k.cpu);
  if (pgd < 0) throw new KernelBootError(`no memory for init_mm's PGD (${pgd})`);
  // init_mm: one permanent user, plus one mm_count per CPU whose active_mm it is.
  mmInitRecord(k, INIT_MM, pgd, 1, 1 + shape.cpus);
  v.mm[INIT_MM * MM_STRIDE + MM_STATE] = MM_LIVE;
  v.rq.fill(0);
  for (let c = 0; c < shape.cpus; c++) {
    const r = c * RQ_STRIDE;
    v.rq[r + RQ_CURR] = -1;
    v.rq[r + RQ_ACTIVE_MM] = INIT_MM;
    v.rq[r + RQ_HEAD] = -1;
    v.rq[r + RQ_TAIL] = -1;
    const at = c * CPU_STRIDE;
    v.cpu[at + CPU_LOADED_MM] = LOADED_MM_NONE;
    v.cpu[at + CPU_LOADED_MM_ASID] = 0;
    v.cpu[at + CPU_NEXT_ASID] = 0;
    v.cpu[at + CPU_IS_LAZY] = 0;
    v.cpu[at + CPU_INVALIDATE_OTHER] = 0;
    for (let a = 0; a < TLB_NR_DYN_ASIDS; a++) {
      v.cpu[at + CPU_CTX_ID + a] = 0;
      v.cpu[at + CPU_CTX_TLB_GEN + a] = 0;
      v.cpu[at + CPU_ASI_TLB_GEN + a] = -1;
      v.cpu[at + CPU_GHOST_CTX_ID + a] = 0;
      v.cpu[at + CPU_GHOST_TLB_GEN + a] = 0;
    }
    for (let w = 0; w < USER_PCID_FLUSH_WORDS; w++) v.cpu[at + CPU_USER_PCID_FLUSH_MASK + w] = 0;
    v.cpu[at + CPU_ASI_CURR] = -1;
    v.cpu[at + CPU_ASI_LAST_MM] = -1;
    v.cpu[at + CPU_ASI_TAINTS] = 0;
  }
  globalAsidInit(v.kernel);
  Atomics.store(v.kernel, KERNEL_BOOTED, 1);
}

export interface MachineBootOptions {
  /**
   * ASI on: the nonsensitive physmap's tables are pre-allocated at boot
   * (asiPhysmapInit) and CPUs brought up afterwards allocate requests
   * without __GFP_SENSITIVE from the nonsensitive lane, flipping pageblocks
   * as needed (page_alloc/flip.ts). The boot CPU's own allocator stays on
   * the sensitive lane: set-up allocations (init_mm, processes) are
   * sensitive, as memory handed out before ASI is initialised is.
   */
  readonly asi?: boolean;
}

/** The main thread's way in: boot the zone and the kernel objects of a fresh machine, acting as CPU 0. */
export function bootMachine(mem: MachineMemory, smp: SmpCtx, opts: MachineBootOptions = {}): KernelCtx {
  const alloc = PageAllocator.boot(mem);
  const k = makeKernelCtx(mem, smp, alloc);
  kernelBoot(k);
  if (opts.asi === true) asiPhysmapInit(k);
  return k;
}

/**
 * A CPU thread's way in: attach to a booted machine as smp.cpu and load
 * init_mm. Without an allocator given, the CPU gets its own handle, on the
 * nonsensitive lane when the machine booted with ASI.
 */
export function cpuBringup(
  mem: MachineMemory, smp: SmpCtx, alloc: FrameAllocator = new PageAllocator(mem, { asi: asiEnabled(mem.views.kernel) }),
): KernelCtx {
  if (Atomics.load(mem.views.kernel, KERNEL_BOOTED) === 0) throw new KernelBootError('the machine\'s kernel objects were not booted (kernelBoot)');
  const k = makeKernelCtx(mem, smp, alloc);
  installAsiFlip(k);
  installUnmappedOps(k);
  tlbInitThread(mem.views.cpu);
  const flags = localIrqSave(smp);
  switchMmIrqsOff(k, INIT_MM);
  localIrqRestore(smp, flags);
  return k;
}
