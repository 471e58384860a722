// Ghost-state invariant (issue 11 item 6), the third: "a freed page table
// is never reachable from a paging-structure cache". The kernel frees a
// user page-table page only after every CPU that could walk through it has
// flushed (mmu_gather with freed_tables: flush_tlb_mm_range IPIs lazy CPUs
// too, and tlb_remove_table waits for them; arch/x86/mm/tlb.c,
// mm/mmu_gather.c). So at the moment the table goes back to the allocator,
// no CPU may hold a PSC entry pointing at it under a PCID it could walk
// with before flushing: its loaded PCID while it has the owner mm loaded
// (lazily too: a kernel thread's CPU keeps the user CR3, and the hardware
// walks speculatively through it), or an ASID slot of the owner mm that a
// switch back would load with NOFLUSH (the kernel's record and the ghost
// generation of check/ghost-gen.ts both current).
//
// The inline oracle (stale-psc, walk-non-pagetable) needs a walk to land on
// the freed table after it was reused; this check needs no race to land:
// the entry is there, or it is not, when the table is freed. The end-of-run
// check looks for the same entries on the quiescent machine.
//
// Reads other CPUs' PSCs and state racily. The table is already unhooked
// from its parent, so no entry for it can appear while we look; one may
// only disappear. A CPU caught between switch_mm's record and its flushing
// CR3 write is told apart by the ghost generation (written after the
// flush), and loaded_mm is read again around the PCID, as in
// ephemeral-audit.ts.
//
// Kernel tables (the direct map's, the mm-local regions') are not checked
// here: their entries are shared by every PCID and go with kernel-range
// flushes.

import { FS_PAGETABLE, FRAME_STATE_MASK, PSC_PCID_MASK, PSC_VALID } from '../../native-layout/bits.js';
import {
  FRAME_STRIDE, FR_CONTENT_GEN, FR_FLAGS, MM_CTX_ID, MM_STRIDE, MM_TLB_GEN, PSC_FILL_GEN,
  PSC_META, PSC_PT_PFN, PSC_STRIDE, PSC_VA_TAG,
} from '../../native-layout/fields.js';
import type { MachineViews } from '../../native-layout/memory.js';
import { CURRENT_PCIDS_MAX, currentPcids, pcidIn } from './current-pcids.js';
import { V_FREED_TABLE_CACHED, reportViolation } from './oracle.js';

/**
 * Called by pte_free (freePgtablePage) for a user table of mm `owner`,
 * before its state changes: reports (V_FREED_TABLE_CACHED) the first CPU
 * whose PSC still points at table frame pfn under a PCID it could walk
 * with without a flush. Returns whether it found one. Cost: one pass over
 * every CPU's PSC (cpus x 32 entries) per freed user table.
 */
export function ghostCheckTableFree(
  views: MachineViews, cpus: number, pscEntries: number, pfn: number, owner: number, freeingCpu: number,
): boolean {
  const f = views.frame;
  if ((f[pfn * FRAME_STRIDE + FR_FLAGS]! & FRAME_STATE_MASK) !== FS_PAGETABLE) return false;
  const tableGen = f[pfn * FRAME_STRIDE + FR_CONTENT_GEN]!;
  const psc = views.psc;
  const st = views.cpu;
  const ctxId = views.mm[owner * MM_STRIDE + MM_CTX_ID]!;
  const gen = Atomics.load(views.mm, owner * MM_STRIDE + MM_TLB_GEN);
  for (let c = 0; c < cpus; c++) {
    // Which PCIDs first, the entries after: a CPU may finish a flush
    // between our two reads, and an entry read before it with a ghost
    // generation read after it would look like a survivor of the flush.
    const n = currentPcids(st, c, owner, ctxId, gen, true, PCIDS);
    if (n === 0) continue;
    for (let e = c * pscEntries * PSC_STRIDE; e < (c + 1) * pscEntries * PSC_STRIDE; e += PSC_STRIDE) {
      const meta = psc[e + PSC_META]!;
      if ((meta & PSC_VALID) === 0 || psc[e + PSC_PT_PFN] !== pfn || psc[e + PSC_FILL_GEN] !== tableGen) continue;
      const pcid = meta & PSC_PCID_MASK;
      if (!pcidIn(PCIDS, n, pcid)) continue;
      // Still walkable once the entry was read (the CPU may have handed the
      // slot to another mm meanwhile).
      if (!pcidIn(RECHECK, currentPcids(st, c, owner, ctxId, gen, true, RECHECK), pcid)) continue;
      // va: the 2 MiB region the entry caches; fillGen: the table's
      // generation; frameGen: the CPU that frees the table.
      reportViolation(views, c, V_FREED_TABLE_CACHED, psc[e + PSC_VA_TAG]! * 2 ** 21, pfn, tableGen, freeingCpu, -1, -1);
      return true;
    }
  }
  return false;
}

/** Scratch for currentPcids, and for the second look at a CPU once an entry was found. */
const PCIDS = new Int32Array(CURRENT_PCIDS_MAX);
const RECHECK = new Int32Array(CURRENT_PCIDS_MAX);
