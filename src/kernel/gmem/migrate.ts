// Migrating a guest_memfd page from a kernel thread (issue 8): what
// compaction (kcompactd) or memory-failure handling would do to a page
// that is absent from the direct map. Neither the source nor the
// destination can be read or written through the direct map, so the copy
// goes through an ephemeral map, the mermap (src/kernel/mermap).
//
// "Which mm do we use from a random context?" The mermap lives in an
// mm-local region: each mm has its own window per CPU, and its contract
// (mm/mermap.c, mermap_get()) is "map only memory the current process
// owns". A kernel thread has no mm of its own. Its candidates:
//   - the mm it borrowed lazily (active_mm: whatever process ran last on
//     this CPU) -- wrong: that process does not own the guest's memory,
//     and every other CPU running it may speculatively fill the window
//     (SEMANTICS §7: the ephmap's security rule), so VM A's data would sit
//     behind process B's page tables;
//   - init_mm -- it has no mm-local region: its kernel half is shared by
//     every PGD, so a mapping there is in every address space at once;
//   - the mm that owns the memory: kvm->mm, the process that created the
//     VM and its guest_memfd. The thread adopts it for the copy with
//     kthread_use_mm() (as vhost and io_uring workers do), maps both pages
//     in its own CPU's window, copies, puts, flushes the window before the
//     old page is freed (the mermap contract), and drops it again with
//     kthread_unuse_mm(). That is what migrate() does: gmemBootMigration()
//     creates the owner mm at boot and records it in the gmem region.
//
// Order inside: the new folio is allocated (out of the direct map by the
// strategy) first; the old folio's second-level entry is invalidated
// before the copy, so the guest cannot write the source after it was read
// (the next guest access faults and finds the new folio); the old folio
// is freed through the strategy only after the window flush.

import { INIT_MM, NO_MM } from '../../../native-layout/bits.js';
import { C } from '../../../native-layout/counters.js';
import { GMEM_KTHREAD, GMEM_VM_MM } from '../../../native-layout/fields.js';
import { contentDomain, contentSecret } from '../../hw/frames.js';
import type { KernelCtx } from '../ctx.js';
import { enableMmLocalRegion } from '../ephmap/region.js';
import { MERMAP_FAIL, mermapFlushBeforeFree, mermapGet, mermapPut } from '../mermap/mermap.js';
import { mmAlloc, mmdrop, mmgrab } from '../mm/mm.js';
import { migrateDisable, migrateEnable } from '../sched/migrate.js';
import { taskAlloc } from '../sched/task.js';
import { localIrqRestore, localIrqSave } from '../smp.js';
import { switchMmIrqsOff } from '../tlb/switch-mm.js';
import type { GmemFile, SlatSlice } from './file.js';
import type { GmemCpuParts, GmemStrategy } from './strategy.js';

/** Task kind of the per-CPU gmem kernel threads (the mm scenarios' kthreads are kind 1). */
export const KIND_GMEM_KTHREAD = 40;

export class GmemMigrateError extends Error {
  override name = 'GmemMigrateError';
}

/**
 * Boot (main thread, before any process): turns the mm-local region on,
 * creates the VM owner's mm (kvm->mm) and one kernel thread per CPU (no
 * mm, pinned). Throws GmemMigrateError when the tables do not fit.
 */
export function gmemBootMigration(k: KernelCtx): void {
  enableMmLocalRegion(k);
  const mm = mmAlloc(k);
  if (mm < 0) throw new GmemMigrateError(`no memory for the VM owner's mm (${mm})`);
  k.views.gmem[GMEM_VM_MM] = mm + 1;
  for (let c = 0; c < k.cpus; c++) {
    const tid = taskAlloc(k, NO_MM, KIND_GMEM_KTHREAD, c, -1);
    if (tid < 0) throw new GmemMigrateError(`no task slot for CPU ${c}'s gmem kernel thread`);
    k.views.gmem[GMEM_KTHREAD + c] = tid + 1;
  }
}

/** kthread_use_mm(): the kernel thread on k's CPU adopts mm (a reference, then switch_mm). */
function kthreadUseMm(k: KernelCtx, mm: number): void {
  mmgrab(k, mm);
  const flags = localIrqSave(k.smp);
  switchMmIrqsOff(k, mm);
  localIrqRestore(k.smp, flags);
}

/** kthread_unuse_mm(): back to init_mm (we do not stay lazy on the borrowed mm), then drop the reference. */
function kthreadUnuseMm(k: KernelCtx, mm: number): void {
  const flags = localIrqSave(k.smp);
  switchMmIrqsOff(k, INIT_MM);
  localIrqRestore(k.smp, flags);
  mmdrop(k, mm);
}

/** One CPU's migration of guest_memfd pages (built once per vCPU). */
export class GmemMigrator {
  constructor(private readonly g: GmemCpuParts, private readonly strategy: GmemStrategy) {}

  /**
   * Moves gfn's folio to a new one. Returns the new pfn, or -1 when no
   * folio or no mermap slot could be had (nothing changed then).
   */
  migrate(file: GmemFile, slat: SlatSlice, gfn: number): number {
    const k = this.g.k;
    const vm = k.views.gmem[GMEM_VM_MM]! - 1;
    const tid = k.views.gmem[GMEM_KTHREAD + k.cpu]! - 1;
    const old = file.folio(gfn);
    if (vm < 0 || tid < 0 || old < 0) return -1;
    const to = this.strategy.allocFolio(this.g);
    if (to < 0) return -1;
    // A folio allocated for the file, as a fault's is (gmemFaults counts both).
    k.counters[k.countersAt + C.gmemFaults] += 1;
    slat.invalidateRange(gfn, gfn + 1);
    kthreadUseMm(k, vm);
    const pin = migrateDisable(k, tid);
    let ok = false;
    try {
      const src = mermapGet(k, vm, old, 1, tid);
      const dst = src === MERMAP_FAIL ? MERMAP_FAIL : mermapGet(k, vm, to, 1, tid);
      if (dst !== MERMAP_FAIL) {
        const word = k.mmu.read(src);
        if (word < 0) throw new GmemMigrateError(`CPU ${k.cpu}: mermap read of pfn ${old} faulted (${word})`);
        if (k.mmu.write(dst, contentDomain(word), contentSecret(word)) < 0) throw new GmemMigrateError(`CPU ${k.cpu}: mermap write of pfn ${to} faulted`);
        k.counters[k.countersAt + C.pageCopies] += 1;
        mermapPut(k, vm, dst);
        ok = true;
      }
      if (src !== MERMAP_FAIL) mermapPut(k, vm, src);
      // The contract: no window entry may translate to the old page once it is freed.
      mermapFlushBeforeFree(k, vm);
    } finally {
      migrateEnable(k, tid, pin);
      kthreadUnuseMm(k, vm);
    }
    if (!ok) {
      slat.install(gfn, old);
      this.strategy.freeFolio(this.g, to);
      return -1;
    }
    file.replaceFolio(gfn, to);
    slat.install(gfn, to);
    this.strategy.freeFolio(this.g, old);
    return to;
  }
}
