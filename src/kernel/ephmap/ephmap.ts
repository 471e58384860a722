// The ephmap as posted (bjackman/linux branch asi/6.16, mm/ephmap.c
// ephmap_get()/ephmap_put(); "x86: mm: Introduce the ephmap", 2025-08):
// per (mm, CPU) K slots in the mm-local region (region.ts) through which
// the kernel maps a page of the current process for a moment, e.g. to copy
// a page-cache page to user space in read() without touching the physmap
// (which, under ASI, would fault and exit to the sensitive address space).
//
// Correctness needs only the local TLB: the slot's addresses are used by
// its own CPU alone, and the user cannot migrate between get and put
// (migration disabled), so put clears the PTEs and flushes this CPU only.
// Security needs more (mitigation.ts): every CPU of the mm shares these
// page tables and may speculatively cache another CPU's slot.
//
// in_use belongs to the (mm, CPU), not to the task: a second user on the
// same CPU (an interrupt, a copy-on-write needing two mappings with K = 1,
// another thread of the process preempting the holder) fails and falls back
// to the physmap path, since unlike kmap_local there is no save and
// restore at context switch.

import { PTE_A, PTE_D, PTE_P, PTE_RW } from '../../../native-layout/bits.js';
import { C } from '../../../native-layout/counters.js';
import {
  EPH_IN_USE, EPH_PAGES, KERNEL_EPHMAP_SLOTS, MM_PGD, MM_STRIDE, TLB_FILL_GEN, TLB_PFN,
} from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import { V_EPHMAP, reportViolation } from '../../check/oracle.js';
import { kernelReadPhysmap } from '../asi/access.js';
import { setEntry } from '../../hw/ptstore.js';
import { PROT_NX, pteHi, pteLo } from '../../hw/pte.js';
import { INVPCID_SINGLE_CTX } from '../../hw/mmu.js';
import type { KernelCtx } from '../ctx.js';
import { EBUSY, EINVAL } from '../mm/pgtable.js';
import { SITE_FLUSH_DONE, SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { TLB_SINGLE_PAGE_FLUSH_CEILING } from '../tlb/flush-mm.js';
import { ephemeralMarkStale } from './mitigation.js';
import { EPHMAP_MAX_SLOTS, EPHMAP_SLOT_PAGES, cpuWindowBase, ephemAt, windowCpuOf, windowPteWord } from './region.js';
import { EPH_EPHMAP, EV_EPH_MAP, EV_EPH_UNMAP } from '../../trace/events.js';

const VA_SPLIT = 2 ** 32;

export { ephemAt };

const PAGE = 4096;
const DIV_4K = 2 ** 12;
const DIV_VPNHI = 2 ** 32;
const BUG_SKIP_LOCAL_FLUSH = BUG['ephmap-skip-local-flush']!;
const BUG_DOUBLE_ALLOC = BUG['ephmap-double-alloc']!;

/** K: slots per (mm, CPU) on this machine (1 unless the scenario chose 2 at boot). */
export function ephmapSlots(k: KernelCtx): number {
  const n = Atomics.load(k.kernel, KERNEL_EPHMAP_SLOTS);
  return n >= 1 && n <= EPHMAP_MAX_SLOTS ? n : 1;
}

/** Sets K at boot, before any CPU uses the ephmap. */
export function setEphmapSlots(k: KernelCtx, slots: number): void {
  if (!(Number.isInteger(slots) && slots >= 1 && slots <= EPHMAP_MAX_SLOTS)) {
    throw new RangeError(`ephmap slots ${slots} is invalid: use 1..${EPHMAP_MAX_SLOTS}`);
  }
  Atomics.store(k.kernel, KERNEL_EPHMAP_SLOTS, slots);
}

/** Address of slot `slot` in CPU cpu's window. */
export function ephmapSlotVa(cpu: number, slot: number): number {
  return cpuWindowBase(cpu) + slot * EPHMAP_SLOT_PAGES * PAGE;
}

/**
 * ephmap_get(): maps npages frames from pfn at this CPU's slot `slot` of
 * mm (the current process) and returns the address, or EBUSY when the slot
 * is taken (the caller falls back to the physmap path), or EINVAL when the
 * request does not fit a slot. The caller (task tid) has migration disabled
 * (sched/migrate.ts) until ephmapPut. Never allocates: the tables exist
 * from mm creation.
 */
export function ephmapGet(k: KernelCtx, mm: number, slot: number, pfn: number, npages: number, tid: number): number {
  if (!(slot >= 0 && slot < ephmapSlots(k) && npages >= 1 && npages <= EPHMAP_SLOT_PAGES)) return EINVAL;
  const rec = ephemAt(k, mm, k.cpu);
  const e = k.views.ephem;
  // The atomic exchange on in_use is what keeps a preempting thread of the
  // same mm on this CPU from remapping a live slot under the holder's feet
  // (ephmap-double-alloc skips it: the second get overwrites the holder's
  // PTEs and the holder reads the other page through its own address).
  if (Atomics.compareExchange(e, rec + EPH_IN_USE + slot, 0, tid + 1) !== 0) {
    if (injected[BUG_DOUBLE_ALLOC] === 0) {
      k.counters[k.countersAt + C.ephmapFallbacks] += 1;
      return EBUSY;
    }
    Atomics.store(e, rec + EPH_IN_USE + slot, tid + 1);
  }
  const root = k.mm[mm * MM_STRIDE + MM_PGD];
  const first = slot * EPHMAP_SLOT_PAGES;
  const prot = PTE_P | PTE_RW | PTE_A | PTE_D;
  for (let i = 0; i < npages; i++) {
    const w = windowPteWord(k, root, k.cpu, first + i);
    setEntry(k.env.pt, k.env.seq, w, pteLo(pfn + i, prot), pteHi(pfn + i, PROT_NX));
    kernelPoint(SITE_PTE_WRITE);
  }
  e[rec + EPH_PAGES + slot] = npages;
  k.counters[k.countersAt + C.ephmapMaps] += 1;
  const va = ephmapSlotVa(k.cpu, slot);
  k.smp.trace.emit(EV_EPH_MAP, va % VA_SPLIT | 0, ((va / VA_SPLIT) | 0) | (EPH_EPHMAP << 16), pfn);
  return va;
}

/**
 * ephmap_put(): clears the PTEs of the npages mapped at va and flushes the
 * local TLB only (INVLPG per page below the 33-page ceiling, else the whole
 * current PCID), then frees the slot of the CPU it runs on. Local is enough
 * because ASI transitions never keep a PCID's entries across CR3 writes
 * (no NOFLUSH) and no other CPU uses these addresses architecturally.
 *
 * Skip the flush (ephmap-skip-local-flush) and the next get on this CPU
 * maps another page at the same address while the TLB still translates it
 * to the old one: the new user reads the previous user's page.
 */
export function ephmapPut(k: KernelCtx, mm: number, va: number, npages: number): void {
  const root = k.mm[mm * MM_STRIDE + MM_PGD];
  const owner = windowCpuOf(va, k.cpus);
  const page0 = Math.round((va - cpuWindowBase(owner)) / PAGE);
  const slot = Math.floor(page0 / EPHMAP_SLOT_PAGES);
  k.smp.trace.emit(EV_EPH_UNMAP, va % VA_SPLIT | 0, ((va / VA_SPLIT) | 0) | (EPH_EPHMAP << 16), npages);
  for (let i = 0; i < npages; i++) {
    setEntry(k.env.pt, k.env.seq, windowPteWord(k, root, owner, page0 + i), 0, 0);
    kernelPoint(SITE_PTE_WRITE);
  }
  if (injected[BUG_SKIP_LOCAL_FLUSH] === 0) {
    const mmu = k.mmu;
    if (npages < TLB_SINGLE_PAGE_FLUSH_CEILING) {
      for (let i = 0; i < npages; i++) mmu.invlpg(va + i * PAGE);
    } else {
      mmu.invpcid(INVPCID_SINGLE_CTX, mmu.cr3Pcid);
      k.counters[k.countersAt + C.flushesFull] += 1;
    }
    k.counters[k.countersAt + C.flushesLocal] += 1;
    kernelPoint(SITE_FLUSH_DONE);
  }
  // Only now may an entry of this mapping be stale: the PTEs are gone, so
  // none can be created any more, and any other CPU of the mm may hold
  // one. Marking at get would be too early: a mitigation flush that read
  // the mark then, and ran before this CPU (or a speculating one) filled
  // its entry, would record the mark as covered while the entry it never
  // saw lives on. An evictor or closer reads the mark only after our
  // caller dropped its page and file references, so after this store.
  ephemeralMarkStale(k, mm);
  checkGoneAfterPut(k, va, npages, owner);
  Atomics.store(k.views.ephem, ephemAt(k, mm, k.cpu) + EPH_IN_USE + slot, 0);
}

/**
 * Oracle §9.3, second half: once put returned, the local TLB holds none
 * of the slot's pages under the current PCID (speculative fills included:
 * the PTEs are gone, so nothing can refill them).
 */
function checkGoneAfterPut(k: KernelCtx, va: number, npages: number, owner: number): void {
  const mmu = k.mmu;
  const tlb = mmu.tlb;
  for (let i = 0; i < npages; i++) {
    const a = va + i * PAGE;
    const vpn = Math.floor(a / DIV_4K);
    const e = tlb.lookup4k(vpn % DIV_VPNHI | 0, Math.floor(vpn / DIV_VPNHI), mmu.cr3Pcid);
    if (e < 0) continue;
    const w = mmu.walker;
    reportViolation(k.views, k.cpu, V_EPHMAP, a, tlb.t4[e + TLB_PFN]!, tlb.t4[e + TLB_FILL_GEN]!, -1, w.task, w.op, owner);
    return;
  }
}

/**
 * A kernel read through an ephemeral address (the copy of read()), with
 * oracle §9.3's first half: an ephemeral slot is used by its own CPU only.
 * A user that migrated between get and put (ephmap-migrate-enabled) reads
 * another CPU's slot here, and its put then flushes the wrong TLB. Returns
 * the content word, or a FAULT_* code (< 0). Addresses outside the
 * mm-local region (kmap_local's fixmap slots) are read without the check.
 */
export function ephemeralRead(k: KernelCtx, va: number): number {
  const owner = windowCpuOf(va, k.cpus);
  if (owner >= 0 && owner !== k.cpu) {
    const w = k.mmu.walker;
    reportViolation(k.views, k.cpu, V_EPHMAP, va, -1, owner, k.cpu, w.task, w.op, owner);
  }
  return k.mmu.read(va, false);
}

/**
 * The physmap path's read of a frame (what the caller falls back to when
 * get fails): through the direct map, so under ASI it faults and exits.
 */
export function physmapRead(k: KernelCtx, pfn: number): number {
  return kernelReadPhysmap(k, pfn);
}
