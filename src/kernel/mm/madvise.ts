// madvise(MADV_DONTNEED) (mm/madvise.c): zap the PTEs of the range with
// mmap_lock held only for read, so several threads zap (and fault) at once;
// the VMAs and page tables stay. The next touch faults in a zeroed page.

import { VMA_END, VMA_FLAGS, VMA_START } from '../../../native-layout/fields.js';
import { downRead, upRead } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { tlbFinishMmu, tlbGatherMmu } from './gather.js';
import { mmapLockAt } from './mm.js';
import { EINVAL, ENOMEM } from './pgtable.js';
import { vmaAt } from './vma.js';
import { zapPteRange } from './zap.js';
import { countSyscall } from '../account.js';

/** Zaps pages [start, start + pages). 0, EINVAL, or ENOMEM if part of the range is not mapped (the rest is still zapped). */
export function sysMadviseDontneed(k: KernelCtx, mm: number, start: number, pages: number): number {
  countSyscall(k);
  if (!(Number.isInteger(start) && Number.isInteger(pages) && pages > 0 && start >= 0)) return EINVAL;
  const lock = mmapLockAt(mm);
  downRead(k.mm, lock);
  const end = start + pages;
  const g = tlbGatherMmu(k, mm, false);
  let covered = 0;
  const v = k.vma;
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    if (v[at + VMA_FLAGS] === 0) continue;
    const s = Math.max(start, v[at + VMA_START]);
    const e = Math.min(end, v[at + VMA_END]);
    if (s >= e) continue;
    covered += e - s;
    zapPteRange(k, g, mm, s, e);
  }
  tlbFinishMmu(k, g);
  upRead(k.mm, lock);
  return covered === pages ? 0 : ENOMEM;
}
