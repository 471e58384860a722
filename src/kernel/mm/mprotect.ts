// mprotect() (mm/mprotect.c), for anonymous areas: split the VMAs at the
// edges, set their flags, and rewrite the present PTEs. Taking write away
// needs a flush before returning (a CPU would go on writing through its
// cached entry); granting it needs none, and is left to the write fault
// (which also keeps copy-on-write pages read-only).

import { PTE_RW, VM_EXEC, VM_READ, VM_VALID, VM_WRITE } from '../../../native-layout/bits.js';
import { VMA_END, VMA_FLAGS, VMA_START } from '../../../native-layout/fields.js';
import { downWrite, upWrite } from '../../sync/rwsem.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';
import { vmPageProt } from './fault.js';
import { tlbClearedPte, tlbFinishMmu, tlbGatherMmu } from './gather.js';
import { mmPgd, mmapLockAt, ptlAt } from './mm.js';
import { EINVAL, ENOMEM, changeProtection, lookupAddress } from './pgtable.js';
import { vmaAt, vmaSplitAt } from './vma.js';

const PAGE = 4096;

/** Sets VM_READ/VM_WRITE of pages [start, start + pages) to vmFlags. 0, EINVAL, ENOMEM (unmapped part, or no VMA slot). */
export function sysMprotect(k: KernelCtx, mm: number, start: number, pages: number, vmFlags: number): number {
  if (!(Number.isInteger(start) && Number.isInteger(pages) && pages > 0 && start >= 0)) return EINVAL;
  const lock = mmapLockAt(mm);
  downWrite(k.mm, lock);
  const end = start + pages;
  let r = vmaSplitAt(k, mm, start);
  if (r === 0) r = vmaSplitAt(k, mm, end);
  if (r === 0) {
    const g = tlbGatherMmu(k, mm, false);
    const root = mmPgd(k, mm);
    const ref = k.ref;
    const ptl = ptlAt(mm);
    const v = k.vma;
    let covered = 0;
    for (let i = 0; i < k.maxVmas; i++) {
      const at = vmaAt(k, mm, i);
      const flags = v[at + VMA_FLAGS];
      if (flags === 0 || v[at + VMA_START] < start || v[at + VMA_END] > end) continue;
      const nextFlags = (flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | (vmFlags & (VM_READ | VM_WRITE | VM_EXEC)) | VM_VALID;
      v[at + VMA_FLAGS] = nextFlags;
      covered += v[at + VMA_END] - v[at + VMA_START];
      const prot = vmPageProt(nextFlags);
      spinLock(k.mm, ptl);
      for (let vpn = v[at + VMA_START]; vpn < v[at + VMA_END]; vpn++) {
        if (lookupAddress(k.env, root, vpn * PAGE, ref) < 0) continue;
        const had = ref.lo & PTE_RW;
        if (had === 0) continue; // read-only stays read-only: a write fault decides
        if ((prot & PTE_RW) !== 0) continue;
        changeProtection(k.env, root, vpn * PAGE, prot);
        tlbClearedPte(g, vpn);
      }
      spinUnlock(k.mm, ptl);
    }
    tlbFinishMmu(k, g);
    if (covered !== pages) r = ENOMEM;
  }
  upWrite(k.mm, lock);
  return r;
}
