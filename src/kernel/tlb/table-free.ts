// Page-table frees against lockless walkers (mm/mmu_gather.c
// tlb_remove_table_sync_one(), arch/x86 since a37259732a7d "x86/mm: Make
// MMU_GATHER_RCU_TABLE_FREE unconditional").
//
// get_user_pages_fast() walks a process's page tables with no lock at all,
// only interrupts off (src/kernel/mm/gup.ts). On bare metal that used to be
// enough: a page table is freed only after the flush that unlinked it, and
// that flush waits for an IPI acknowledgement from every CPU of the mm, which
// a CPU with interrupts off gives only after its walk. INVLPGB flushes other
// CPUs' TLBs without interrupting them, so the flush no longer waits for the
// walker:
//   CPU 1 (munmap)                    CPU 2 (gup_fast, interrupts off)
//                                     read the PMD entry -> table T
//   clear the PMD entry
//   INVLPGB + TLBSYNC (no IPI)
//   free T; T reused elsewhere
//                                     read "the PTE" in T: another owner's
//                                     entry; take a reference on its page
// The fix frees page tables only after an RCU grace period, which an
// interrupts-off section holds off. Our kernel has no RCU; it takes the
// kernel's own fallback for that (the one tlb_remove_table() uses when it
// cannot batch): an IPI to every other CPU, waited for, before the free.
// It is needed only after a flush that sent no IPI: after an IPI flush the
// walkers have already let go (injectable as invlpgb-table-free-no-sync,
// which frees right after the INVLPGB flush, as x86 bare metal did before
// a37259732a7d).

import { BUG, injected } from '../../check/bugs.js';
import type { KernelCtx } from '../ctx.js';
import { IPI_FUNC_NOP, smpCallFunctionMany } from '../smp.js';

const BUG_INVLPGB_TABLE_FREE_NO_SYNC = BUG['invlpgb-table-free-no-sync']!;

/**
 * Call before freeing page tables unlinked and flushed by this CPU: returns
 * once no CPU can still be inside a lockless walk that began before the
 * flush. Interrupts must be on (it waits for IPIs).
 */
export function tlbRemoveTableSync(k: KernelCtx): void {
  if (!k.lastFlushBroadcast || injected[BUG_INVLPGB_TABLE_FREE_NO_SYNC] !== 0) return;
  // tlb_remove_table_sync_one(): smp_call_function(nop, wait). A CPU in a
  // walk runs it only once interrupts are back on, after the walk.
  smpCallFunctionMany(k.smp, k.smp.online, 0, IPI_FUNC_NOP, 0, 0, 0, 0, true);
  k.lastFlushBroadcast = false;
}
