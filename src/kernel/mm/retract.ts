// khugepaged's page-table retraction, reduced (mm/khugepaged.c
// retract_page_tables() / collapse_pte_mapped_thp(): pmdp_collapse_flush()
// then free the PTE table): a kernel thread, on whatever mm its CPU has
// loaded, takes another process's mmap_lock for write and unlinks PTE
// tables that map nothing. Each one is flushed with flush_tlb_range()
// before it is freed. That flush must reach lazy CPUs: this is the path of
// CVE-2025-22045, where flush_tlb_range said freed_tables = false.

import { PTE_P, PTE_PS, VM_HUGETLB, VM_MSHARE } from '../../../native-layout/bits.js';
import { VMA_END, VMA_FLAGS, VMA_START } from '../../../native-layout/fields.js';
import { clearEntry, ptSlotOf, readHi, readLo } from '../../hw/ptstore.js';
import { ptePfn } from '../../hw/pte.js';
import { downWrite, upWrite } from '../../sync/rwsem.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';
import { flushTlbRange } from '../tlb/flush-mm.js';
import { tlbRemoveTableSync } from '../tlb/table-free.js';
import { mmPgd, mmapLockAt, ptlAt } from './mm.js';
import { freePgtablePage } from './pgtable.js';
import { pmdEntryWord, pteTableIsEmpty } from './pmd.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { vmaAt } from './vma.js';
import { swWalkStep } from '../../check/sw-walk.js';
import { BUG, injected } from '../../check/bugs.js';
import { WALK_RETRACT } from '../../check/walkers.js';

const PAGE = 4096;
const BUG_RETRACT_NO_PTE_LOCK = BUG['retract-no-pte-lock']!;
const PMD_PAGES = 512;



/** Unlinks and frees mm's empty PTE tables inside its VMAs. Returns how many. */
export function retractEmptyPageTables(k: KernelCtx, mm: number): number {
  const lock = mmapLockAt(mm);
  downWrite(k.mm, lock);
  const root = mmPgd(k, mm);
  const v = k.vma;
  const pt = k.env.pt;
  let n = 0;
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    if (v[at + VMA_FLAGS] === 0) continue;
    // An mshare area's tables are the host's, shared by every client
    // (src/kernel/mshare): our mmap_lock does not keep the other clients'
    // faults out of them, and our flush reaches only our own CPUs. A
    // hugetlb area's PMD table holds 2 MiB leaves, and may be shared too.
    if ((v[at + VMA_FLAGS] & (VM_MSHARE | VM_HUGETLB)) !== 0) continue;
    const first = Math.floor(v[at + VMA_START] / PMD_PAGES);
    const last = Math.floor((v[at + VMA_END] - 1) / PMD_PAGES);
    for (let chunk = first; chunk <= last; chunk++) {
      const va = chunk * PMD_PAGES * PAGE;
      const w = pmdEntryWord(k, root, va, WALK_RETRACT, mm);
      if (w < 0) continue;
      const lo = readLo(pt, w);
      if ((lo & PTE_P) === 0 || (lo & PTE_PS) !== 0) continue;
      const table = ptePfn(lo, readHi(pt, w));
      // mmap_lock for write: nobody else frees this mm's PTE tables now.
      if (!swWalkStep(k, WALK_RETRACT, mm, va, 1, table)) continue;
      // The PMD lock, then the table's own lock, as retract_page_tables():
      // rmap walkers (reclaim, truncation) reach file VMAs' tables without
      // mmap_lock and hold only the PTE lock; holding it here means none is
      // inside the table as it is unlinked, and each rechecks the link
      // after taking the lock (rmap.ts lockPteOf).
      // Without them (mmap_lock only, as before 8d3c106e19e8; injectable as
      // retract-no-pte-lock) kswapd can be inside the table, holding its
      // lock, having re-walked to it: it finds the last PTE, clears it; we
      // see the table empty, unlink, flush and free it; kswapd then goes on
      // in a freed table (or one its slot was handed to) and drops a lock
      // that now guards somebody else's entries.
      const slot = ptSlotOf(k.frame, table);
      const locked = injected[BUG_RETRACT_NO_PTE_LOCK] === 0;
      if (locked) {
        spinLock(k.mm, ptlAt(mm));
        pteLock(k, slot);
      }
      const empty = pteTableIsEmpty(k, slot);
      if (empty) clearEntry(pt, k.env.seq, w);
      if (locked) {
        pteUnlock(k, slot);
        spinUnlock(k.mm, ptlAt(mm));
      }
      if (!empty) continue;
      flushTlbRange(k, mm, chunk * PMD_PAGES, (chunk + 1) * PMD_PAGES);
      tlbRemoveTableSync(k);
      freePgtablePage(k.env, k.cpu, table);
      n++;
    }
  }
  upWrite(k.mm, lock);
  return n;
}
