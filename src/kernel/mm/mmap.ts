// mmap(MAP_FIXED_NOREPLACE | MAP_ANONYMOUS): only the VMA. Pages come on
// first touch (fault.ts), so mapping needs no flush: nothing was present.

import { downWrite, upWrite } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { mmapLockAt } from './mm.js';
import { EINVAL } from './pgtable.js';
import { vmaInsert } from './vma.js';

/** Maps pages [start, start + pages) with VM_* flags. 0, EEXIST (overlap), ENOMEM or EINVAL. */
export function sysMmap(k: KernelCtx, mm: number, start: number, pages: number, vmFlags: number): number {
  if (!(Number.isInteger(start) && Number.isInteger(pages) && pages > 0 && start >= 0)) return EINVAL;
  const lock = mmapLockAt(mm);
  downWrite(k.mm, lock);
  const r = vmaInsert(k, mm, start, start + pages, vmFlags);
  upWrite(k.mm, lock);
  return r;
}
