// fork() of an address space (kernel/fork.c dup_mm() / dup_mmap(),
// mm/memory.c copy_page_range()), for anonymous memory: the child gets a
// copy of every VMA and of every present PTE, and private pages become
// copy-on-write: the parent's PTE loses RW, the child's never has it, and
// the page gains a reference.
//
// Write-protecting the parent is a downgrade: other CPUs running the
// parent's threads may still cache writable entries. They are flushed
// before mmap_lock is released (and before the child can run): otherwise a
// thread writing through its stale entry would change the page the child
// now shares, and the child would see a write made after the fork.

import { PTE_RW, VM_SHARED } from '../../../native-layout/bits.js';
import {
  MM_ANON_PAGES, MM_SPEC_CHUNKS, MM_SPEC_PAGES, MM_SPEC_START, MM_STRIDE, VMA_END, VMA_FLAGS, VMA_START, VMA_STRIDE,
} from '../../../native-layout/fields.js';
import { downWrite, upWrite } from '../../sync/rwsem.js';
import { spinLock, spinUnlock } from '../../sync/spinlock.js';
import type { KernelCtx } from '../ctx.js';
import { flushTlbMm } from '../tlb/flush-mm.js';
import { exitMmap } from './exit.js';
import { vmPageProt } from './fault.js';
import { mmAlloc, mmPgd, mmapLockAt, mmdrop, ptlAt } from './mm.js';
import { getPage } from './page-ref.js';
import { changeProtection, lookupAddress, mapPte } from './pgtable.js';
import { isFilePage } from './filemap.js';
import { vmaAt } from './vma.js';

const PAGE = 4096;

/**
 * dup_mm(): a new address space copying parent's. Returns the child mm
 * (one user, the caller's new task) or a negative errno; on failure the
 * parent is left write-protected, which is harmless (its write faults find
 * the pages unshared and reuse them).
 */
export function dupMm(k: KernelCtx, parent: number): number {
  const child = mmAlloc(k);
  if (child < 0) return child;
  const lock = mmapLockAt(parent);
  downWrite(k.mm, lock);
  const r = dupMmap(k, parent, child);
  flushTlbMm(k, parent);
  upWrite(k.mm, lock);
  if (r < 0) {
    exitMmap(k, child);
    mmdrop(k, child);
    return r;
  }
  k.mm[child * MM_STRIDE + MM_SPEC_START] = k.mm[parent * MM_STRIDE + MM_SPEC_START];
  k.mm[child * MM_STRIDE + MM_SPEC_PAGES] = k.mm[parent * MM_STRIDE + MM_SPEC_PAGES];
  k.mm[child * MM_STRIDE + MM_SPEC_CHUNKS] = k.mm[parent * MM_STRIDE + MM_SPEC_CHUNKS];
  return child;
}

function dupMmap(k: KernelCtx, parent: number, child: number): number {
  const v = k.vma;
  const proot = mmPgd(k, parent);
  const croot = mmPgd(k, child);
  const ref = k.ref;
  const ptl = ptlAt(parent);
  let copied = 0;
  let r = 0;
  for (let i = 0; i < k.maxVmas && r === 0; i++) {
    const at = vmaAt(k, parent, i);
    const flags = v[at + VMA_FLAGS];
    if (flags === 0) continue;
    const cat = vmaAt(k, child, i);
    for (let w = 0; w < VMA_STRIDE; w++) v[cat + w] = v[at + w];
    const shared = (flags & VM_SHARED) !== 0;
    const prot = vmPageProt(flags);
    spinLock(k.mm, ptl);
    for (let vpn = v[at + VMA_START]; vpn < v[at + VMA_END]; vpn++) {
      const va = vpn * PAGE;
      if (lookupAddress(k.env, proot, va, ref) < 0) continue;
      const pfn = ref.pfn;
      let childProt = prot;
      if (!shared) {
        if ((ref.lo & PTE_RW) !== 0) changeProtection(k.env, proot, va, prot & ~PTE_RW);
        childProt = prot & ~PTE_RW;
      }
      r = mapPte(k.env, k.cpu, croot, va, pfn, childProt);
      if (r < 0) break;
      getPage(k, pfn);
      // Page-cache pages of file mappings are not anonymous (MM_ANONPAGES).
      if (!isFilePage(k, pfn)) copied++;
    }
    spinUnlock(k.mm, ptl);
  }
  Atomics.add(k.mm, child * MM_STRIDE + MM_ANON_PAGES, copied);
  return r;
}
