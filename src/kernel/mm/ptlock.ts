// Split page-table locks (include/linux/mm.h pte_lockptr(), with
// USE_SPLIT_PTE_PTLOCKS): each PTE table has its own spinlock, so threads
// faulting or zapping in different 2 MiB regions of one mm do not contend.
// mm->page_table_lock still serialises populating the levels above.
// A table's lock lives with its page-table store slot (region ptLock).

import { PT_LOCK_STRIDE } from '../../../native-layout/fields.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';

export function pteLock(k: KernelCtx, slot: number): void {
  spinLock(k.views.ptLock, slot * PT_LOCK_STRIDE);
}

export function pteUnlock(k: KernelCtx, slot: number): void {
  spinUnlock(k.views.ptLock, slot * PT_LOCK_STRIDE);
}
