// mmap(MAP_FIXED_NOREPLACE | MAP_ANONYMOUS), or of a page-cache file
// (filemap.ts; VM_SHARED for MAP_SHARED), or of the hugetlbfs file
// (VM_HUGETLB: hugetlb.ts): only the VMA. Pages come on first
// touch (fault.ts), so mapping needs no flush: nothing was present.

import { FILE_MAX, FILE_NR_PAGES } from '../../../native-layout/fields.js';
import { downWrite, upWrite } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { mmapLockAt } from './mm.js';
import { EINVAL } from './pgtable.js';
import { vmaInsert } from './vma.js';
import { hugetlbMmapLocked } from './hugetlb.js';
import { VM_HUGETLB } from '../../../native-layout/bits.js';
import { countSyscall } from '../account.js';

/**
 * Maps pages [start, start + pages) with VM_* flags; file >= 0 maps that
 * page-cache file from page pgoff. 0, EEXIST (overlap), ENOMEM or EINVAL
 * (also for a file range outside the cache).
 */
export function sysMmap(k: KernelCtx, mm: number, start: number, pages: number, vmFlags: number, file = -1, pgoff = 0): number {
  countSyscall(k);
  if (!(Number.isInteger(start) && Number.isInteger(pages) && pages > 0 && start >= 0)) return EINVAL;
  if (file >= 0 && !(Number.isInteger(file) && file < FILE_MAX && Number.isInteger(pgoff) && pgoff >= 0 && pgoff + pages <= FILE_NR_PAGES)) return EINVAL;
  const lock = mmapLockAt(mm);
  downWrite(k.mm, lock);
  // The hugetlbfs file (VM_HUGETLB): its own VMA bookkeeping (hugetlb.ts).
  const r = (vmFlags & VM_HUGETLB) !== 0
    ? hugetlbMmapLocked(k, mm, start, pages)
    : vmaInsert(k, mm, start, start + pages, vmFlags, file < 0 ? -1 : file, file < 0 ? 0 : pgoff);
  upWrite(k.mm, lock);
  return r;
}
