// Ghost-state invariant (issue 11 item 6), the fourth: "a page being
// written back cannot be written through a cached translation". Writeback
// copies the page to its file and marks it clean; a store that lands after
// the copy must make the page dirty again, which a CPU does by setting the
// PTE's dirty bit on its first store through a clean translation. A TLB
// entry that already holds the dirty bit skips that: a store through it
// changes the page and leaves it clean, and reclaim then drops the store
// with the page. So every path that writes a page back first makes sure no
// CPU can still use a dirty, writable translation of it: zap_pte_range
// flushes a cleared dirty PTE of a shared page before it drops the PTE lock
// (1cf35d47712d), shrink_folio_list flushes its batch before pageout when
// the batch holds a dirty PTE (try_to_unmap_flush_dirty), page_mkclean
// write-protects and flushes (mm/vmscan.c, mm/rmap.c).
//
// The inline oracle sees the lost store only when one lands in the window
// and the data is later read back from the file (readback); this check
// needs no store to land: at the writeback, the dirty entry is there, or it
// is not.
//
// Which entries count: valid, user, writable and dirty 4 KiB entries for
// the page, on a CPU that has a user mm loaded and is not lazy, under a
// PCID it can use for that mm without a flush (check/current-pcids.ts). A
// lazy CPU's entries do not count: it runs no user code until it switches
// back, and a switch back behind the mm's flush generation flushes. Nor do
// the slots of mms a CPU has not loaded (a switch back to them compares
// generations too); this check only sees what a CPU can write through now.
// Nor does a CPU in the middle of that flush: switch_mm_irqs_off, coming
// back from lazy mode behind the generation, clears is_lazy, records the
// new generation in ctxs[asid] and then writes CR3 with a flush, all with
// interrupts off. Between the record and the end of the flush (when the
// ghost generation catches up, ghost-gen.ts) its loaded PCID still holds
// the entries it is dropping: no store can reach them, it returns to user
// mode only after the flush. (The 30-minute soak of 2026-11-30 reported
// exactly that once, shared-file-writeback seed 4: the report landed
// between the CPU's CR3 event and its switch-mm event.)
//
// Reads other CPUs racily. The caller holds the page locked and unmapped
// from every mm (reclaim's folio lock keeps faults from mapping it again),
// so no entry for it can appear while we look; one may only disappear, and
// a CPU's PCIDs are read before its entries and again after one is found.

import { TLB_DIRTY, TLB_GLOBAL, TLB_NR_DYN_ASIDS, TLB_PCID_MASK, TLB_RW, TLB_US, TLB_VALID, TLB_VPNHI_MASK, TLB_VPNHI_SHIFT } from '../../native-layout/bits.js';
import {
  CPU_CTX_ID, CPU_CTX_TLB_GEN, CPU_GHOST_CTX_ID, CPU_GHOST_TLB_GEN, CPU_IS_LAZY, CPU_LOADED_MM, CPU_LOADED_MM_ASID, CPU_STRIDE, MM_CTX_ID, MM_STRIDE, MM_TLB_GEN, TLB_FILL_GEN, TLB_META, TLB_PFN, TLB_STRIDE,
  TLB_VPN_LO,
} from '../../native-layout/fields.js';
import type { MachineViews } from '../../native-layout/memory.js';
import { genAtLeast } from '../kernel/tlb/gen.js';
import { CURRENT_PCIDS_MAX, currentPcids, pcidIn } from './current-pcids.js';
import { V_WRITEBACK_DIRTY_CACHED, reportViolation } from './oracle.js';

const PAGE = 4096;
const VPN_SPLIT = 2 ** 32;
const WANT = TLB_VALID | TLB_US | TLB_RW | TLB_DIRTY;

/**
 * Called by reclaim's writeback of page-cache page pfn (vmscan.ts, before
 * filemapWriteback) by CPU `writer`: reports (V_WRITEBACK_DIRTY_CACHED) the
 * first CPU that could still store to pfn through a dirty, writable TLB
 * entry without a flush. Returns whether it found one. Cost: one pass over
 * the 4 KiB TLB of every CPU with a user mm loaded, per writeback (a
 * simulated I/O).
 */
export function ghostCheckWriteback(views: MachineViews, cpus: number, pfn: number, writer: number, task: number, op: number): boolean {
  const st = views.cpu;
  const t = views.tlb4k;
  const perCpu = t.length / cpus;
  for (let c = 0; c < cpus; c++) {
    const mm = Atomics.load(st, c * CPU_STRIDE + CPU_LOADED_MM);
    if (mm < 0 || Atomics.load(st, c * CPU_STRIDE + CPU_IS_LAZY) !== 0) continue;
    const ctxId = views.mm[mm * MM_STRIDE + MM_CTX_ID]!;
    const gen = Atomics.load(views.mm, mm * MM_STRIDE + MM_TLB_GEN);
    if (loadedSlotFlushing(st, c)) continue;
    const n = currentPcids(st, c, mm, ctxId, gen, false, PCIDS);
    if (n === 0) continue;
    for (let e = c * perCpu; e < (c + 1) * perCpu; e += TLB_STRIDE) {
      const meta = t[e + TLB_META]!;
      if ((meta & WANT) !== WANT || (meta & TLB_GLOBAL) !== 0 || t[e + TLB_PFN] !== pfn) continue;
      const pcid = meta & TLB_PCID_MASK;
      if (!pcidIn(PCIDS, n, pcid)) continue;
      // Still usable once the entry was read (the CPU may have flushed, or
      // switched away, meanwhile).
      if (loadedSlotFlushing(st, c) || !pcidIn(RECHECK, currentPcids(st, c, mm, ctxId, gen, false, RECHECK), pcid)) continue;
      if (t[e + TLB_PFN] !== pfn || (t[e + TLB_META]! & WANT) !== WANT) continue;
      const vpn = (t[e + TLB_VPN_LO]! >>> 0) + ((meta & TLB_VPNHI_MASK) >>> TLB_VPNHI_SHIFT) * VPN_SPLIT;
      // fillGen: the entry's fill generation; frameGen: the CPU writing
      // the page back; slotCpu: the mm the entry belongs to.
      reportViolation(views, c, V_WRITEBACK_DIRTY_CACHED, vpn * PAGE, pfn, t[e + TLB_FILL_GEN]!, writer, task, op, mm);
      return true;
    }
  }
  return false;
}

/**
 * Whether CPU c has recorded a generation for its loaded ASID slot that its
 * flush has not completed yet (kernel record ahead of the ghost one): it is
 * inside switch_mm_irqs_off's flushing CR3 write, interrupts off.
 */
function loadedSlotFlushing(st: Int32Array, c: number): boolean {
  const at = c * CPU_STRIDE;
  const a = Atomics.load(st, at + CPU_LOADED_MM_ASID);
  if (a < 0 || a >= TLB_NR_DYN_ASIDS) return false;
  // The ghost may be ahead of the record (a flush reads the generation
  // later than the kernel did), never behind outside that window.
  return Atomics.load(st, at + CPU_CTX_ID + a) !== Atomics.load(st, at + CPU_GHOST_CTX_ID + a)
    || !genAtLeast(Atomics.load(st, at + CPU_GHOST_TLB_GEN + a), Atomics.load(st, at + CPU_CTX_TLB_GEN + a));
}

/** Scratch for currentPcids, and for the second look at a CPU once an entry was found. */
const PCIDS = new Int32Array(CURRENT_PCIDS_MAX);
const RECHECK = new Int32Array(CURRENT_PCIDS_MAX);
