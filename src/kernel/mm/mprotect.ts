// mprotect() (mm/mprotect.c), for anonymous and file-backed areas: split
// the VMAs at the edges, set their flags (under the file's i_mmap lock for
// a file VMA, vma.ts), and rewrite the present PTEs one PTE table at a time
// under its lock (change_pte_range). Taking write away needs a flush before
// returning (a CPU would go on writing through its cached entry); granting
// it needs none, and is left to the write fault (which also keeps
// copy-on-write pages read-only, and private file pages mapped from the
// page cache read-only until copied).

import { PTE_P, PTE_RW, VM_EXEC, VM_READ, VM_VALID, VM_WRITE } from '../../../native-layout/bits.js';
import { VMA_END, VMA_FLAGS, VMA_START } from '../../../native-layout/fields.js';
import { BUG, injected } from '../../check/bugs.js';
import { entryWord, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { SITE_PTE_WRITE, kernelPoint } from '../points.js';
import { pteIsProtNone } from './pte-states.js';
import { downWrite, upWrite } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { flushTlbBatchedPending } from '../tlb/batch.js';
import { vmPageProt } from './fault.js';
import { tlbClearedPte, tlbFinishMmu, tlbGatherMmu } from './gather.js';
import type { MmuGather } from './gather-state.js';
import { mmPgd, mmapLockAt } from './mm.js';
import { EINVAL, ENOMEM, changeProtection } from './pgtable.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { setVmaFlags, vmaAt, vmaSplitAt } from './vma.js';
import { PTRS_PER_PTE, pteTablePfn } from './zap.js';
import { HeldTable, swWalkHold, swWalkRelease } from '../../check/sw-walk.js';
import { WALK_MPROTECT } from '../../check/walkers.js';
import { ptSlotOf } from '../../hw/ptstore.js';
import { countSyscall } from '../account.js';

const PAGE = 4096;
const BUG_RECLAIM_BATCH_VS_MPROTECT = BUG['reclaim-batch-vs-mprotect']!;

/** This CPU's change_pte_range: the PTE table it holds locked (checked on unlock). */
const mprotectHeld = new HeldTable();

/** Sets VM_READ/VM_WRITE of pages [start, start + pages) to vmFlags. 0, EINVAL, ENOMEM (unmapped part, or no VMA slot). */
export function sysMprotect(k: KernelCtx, mm: number, start: number, pages: number, vmFlags: number): number {
  countSyscall(k);
  if (!(Number.isInteger(start) && Number.isInteger(pages) && pages > 0 && start >= 0)) return EINVAL;
  const lock = mmapLockAt(mm);
  downWrite(k.mm, lock);
  const end = start + pages;
  let r = vmaSplitAt(k, mm, start);
  if (r === 0) r = vmaSplitAt(k, mm, end);
  if (r === 0) {
    const g = tlbGatherMmu(k, mm, false);
    const v = k.vma;
    let covered = 0;
    for (let i = 0; i < k.maxVmas; i++) {
      const at = vmaAt(k, mm, i);
      const flags = v[at + VMA_FLAGS];
      if (flags === 0 || v[at + VMA_START] < start || v[at + VMA_END] > end) continue;
      const nextFlags = (flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | (vmFlags & (VM_READ | VM_WRITE | VM_EXEC)) | VM_VALID;
      setVmaFlags(k, at, nextFlags);
      covered += v[at + VMA_END] - v[at + VMA_START];
      const prot = vmPageProt(nextFlags);
      const ve = v[at + VMA_END];
      for (let vpn = v[at + VMA_START]; vpn < ve;) {
        const chunkEnd = Math.min(ve, (Math.floor(vpn / PTRS_PER_PTE) + 1) * PTRS_PER_PTE);
        changePteRange(k, g, mm, vpn, chunkEnd, prot);
        vpn = chunkEnd;
      }
    }
    tlbFinishMmu(k, g);
    if (covered !== pages) r = ENOMEM;
  }
  upWrite(k.mm, lock);
  return r;
}

/**
 * change_pte_range(): the PTEs of one PTE table in [start, end). Reclaim
 * clears PTEs of file pages without mmap_lock, so the table's lock is what
 * keeps our read-modify-write of an entry from racing its clear.
 */
function changePteRange(k: KernelCtx, g: MmuGather, mm: number, start: number, end: number, prot: number): void {
  const root = mmPgd(k, mm);
  const table = pteTablePfn(k, root, start * PAGE, WALK_MPROTECT, mm);
  if (table < 0) return;
  const slot = ptSlotOf(k.frame, table);
  const pt = k.env.pt;
  pteLock(k, slot);
  swWalkHold(k, mprotectHeld, table);
  // Reclaim may have cleared PTEs here and deferred their flush: we would
  // find them none, downgrade nothing, flush nothing and return, while
  // another CPU goes on writing through its writable entry after
  // mprotect(PROT_READ) returned (3ea277194daa; injectable as
  // reclaim-batch-vs-mprotect).
  if (injected[BUG_RECLAIM_BATCH_VS_MPROTECT] === 0) flushTlbBatchedPending(k, mm);
  for (let vpn = start; vpn < end; vpn++) {
    const w = entryWord(slot, vpn & (PTRS_PER_PTE - 1));
    const lo = readLo(pt, w);
    if ((lo & PTE_P) === 0) {
      // A NUMA hinting entry keeps the rights its fault will restore: a
      // downgrade takes write from those too. Not present and flushed by
      // the change_prot_numa that made it (which held mmap_lock, excluded
      // by ours): nothing to flush. Migration entries cannot be here:
      // migration runs entirely under mmap_lock for read.
      if (pteIsProtNone(lo) && (lo & PTE_RW) !== 0 && (prot & PTE_RW) === 0) {
        setEntry(pt, k.env.seq, w, lo & ~PTE_RW, readHi(pt, w));
        kernelPoint(SITE_PTE_WRITE);
      }
      continue;
    }
    if ((lo & PTE_RW) === 0) continue; // read-only stays read-only: a write fault decides
    if ((prot & PTE_RW) !== 0) continue;
    changeProtection(k.env, root, vpn * PAGE, prot);
    tlbClearedPte(g, vpn);
  }
  swWalkRelease(k, mprotectHeld, WALK_MPROTECT, mm, start * PAGE);
  pteUnlock(k, slot);
}
