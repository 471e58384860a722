// munmap() (mm/vma.c do_vmi_munmap() + unmap_region()): with mmap_lock held
// for write, take the range out of the VMAs, zap its PTEs, unlink the page
// tables left empty, then flush and free through the mmu_gather. Freeing
// tables is why this flush must reach lazy CPUs (freed_tables).

import { FILE_MAX, VMA_END, VMA_FILE, VMA_FLAGS, VMA_START } from '../../../native-layout/fields.js';
import { downWrite, downgradeWrite, upRead, upWrite } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { tlbFinishMmu, tlbGatherMmu, tlbRemoveTable } from './gather.js';
import { mmPgd, mmapLockAt } from './mm.js';
import { EINVAL, freePgtables } from './pgtable.js';
import { iMmapLockWrite, iMmapUnlockWrite } from './rmap.js';
import { findVma, vmaAt, vmaRemoveRange } from './vma.js';
import { hugetlbUnmapVma, isHugetlbVma } from './hugetlb.js';
import { zapPteRange } from './zap.js';
import { freeUnsharedPteTables } from './unmap-region.js';
import { countSyscall } from '../account.js';

const PAGE = 4096;
/** Pages covered by one PMD entry: free_pgtables works in whole PTE tables. */
const PMD_PAGES = 512;

/** Unmaps pages [start, start + pages). 0, EINVAL or ENOMEM (a VMA split found no slot). */
export function sysMunmap(k: KernelCtx, mm: number, start: number, pages: number): number {
  countSyscall(k);
  if (!(Number.isInteger(start) && Number.isInteger(pages) && pages > 0 && start >= 0)) return EINVAL;
  const lock = mmapLockAt(mm);
  downWrite(k.mm, lock);
  const end = start + pages;
  // A hugetlb mapping goes whole, by its own path (__unmap_hugepage_range:
  // its tables may be other processes' too).
  const hv = findVma(k, mm, start);
  if (hv >= 0 && isHugetlbVma(k, hv)) {
    const whole = k.vma[hv + VMA_START] === start && k.vma[hv + VMA_END] === end;
    const hr = whole ? hugetlbUnmapVma(k, mm, hv) : EINVAL;
    upWrite(k.mm, lock);
    return hr;
  }
  const r = vmaRemoveRange(k, mm, start, end);
  if (r !== 0) {
    upWrite(k.mm, lock);
    return r;
  }
  // The VMAs are gone: nothing can fault the range in or find it again, so
  // the zap and the table frees run under the read lock, alongside other
  // threads' faults and MADV_DONTNEEDs elsewhere in the mm (mm/vma.c
  // vms_complete_munmap_vmas' mmap_write_downgrade, since dd2283f2605e).
  // Tables are freed only where no VMA remains (free_pgtables' floor and
  // ceiling), since a concurrent zap under the read lock may be walking the
  // tables a remaining VMA spans. Our gather and a concurrent one are then
  // nested: tlb_finish_mmu's forced flush must keep freed_tables (7a30df49f63a).
  downgradeWrite(k.mm, lock);
  const g = tlbGatherMmu(k, mm, false);
  zapPteRange(k, g, mm, start, end);
  freeUnsharedPteTables(k, g, mm, start, end);
  tlbFinishMmu(k, g);
  upRead(k.mm, lock);
  return 0;
}

/**
 * free_pgtables(): unlink the tables under [start, end) that map nothing
 * into the gather (freed after the flush). A table is freed only if all of
 * it is empty, so tables shared with neighbouring VMAs stay while they map
 * something.
 *
 * An empty table a neighbouring file VMA spans can go, though (Linux stops
 * at the neighbours, floor and ceiling), and rmap walkers of that file
 * (reclaim, truncation) look into it holding only the file's i_mmap lock:
 * so the files the mm still maps are locked for write while tables are
 * unlinked, in file order (nothing takes two i_mmap locks otherwise).
 */
export function freeEmptyTables(k: KernelCtx, mm: number, start: number, end: number): void {
  const tables: number[] = [];
  const files = filesMappedBy(k, mm);
  for (let f = 0; f < FILE_MAX; f++) if ((files & (1 << f)) !== 0) iMmapLockWrite(k, f);
  freePgtables(k.env, k.cpu, mmPgd(k, mm), start * PAGE, end * PAGE, tables);
  for (let f = FILE_MAX - 1; f >= 0; f--) if ((files & (1 << f)) !== 0) iMmapUnlockWrite(k, f);
  if (tables.length === 0) return;
  const lo = Math.floor(start / PMD_PAGES) * PMD_PAGES;
  const hi = Math.ceil(end / PMD_PAGES) * PMD_PAGES;
  for (const t of tables) tlbRemoveTable(k.gather, t, lo, hi);
}

/** Bit f set: some VMA of mm maps file f. */
function filesMappedBy(k: KernelCtx, mm: number): number {
  let files = 0;
  for (let i = 0; i < k.maxVmas; i++) {
    const at = vmaAt(k, mm, i);
    const file = k.vma[at + VMA_FILE];
    if (k.vma[at + VMA_FLAGS] !== 0 && file >= 0) files |= 1 << file;
  }
  return files;
}
