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
  MM_ANON_PAGES, MM_SPEC_CHUNKS, MM_SPEC_PAGES, MM_SPEC_START, MM_STRIDE, VMA_END, VMA_FLAGS, VMA_START,
} from '../../../native-layout/fields.js';
import { downWrite, upWrite } from '../../sync/rwsem.js';
import type { KernelCtx } from '../ctx.js';
import { flushTlbMm } from '../tlb/flush-mm.js';
import { mmput } from './exit.js';
import { vmPageProt } from './fault.js';
import { mmAlloc, mmPgd, mmapLockAt } from './mm.js';
import { getPage, putPage } from './page-ref.js';
import { changeProtection, lookupAddress, mapPte, pteAlloc } from './pgtable.js';
import { pteLock, pteUnlock } from './ptlock.js';
import { isFilePage } from './filemap.js';
import { vmaAt, vmaCopyTo } from './vma.js';
import { PTRS_PER_PTE, pteTableSlot } from './zap.js';
import { entryWord, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { ptePfn } from '../../hw/pte.js';
import { pteIsProtNone } from './pte-states.js';

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
  // The child's mmap_lock too, for the whole copy (dup_mmap's
  // mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING); no deadlock: nobody
  // else holds it yet, and nobody takes two mms' locks the other way).
  // mm_alloc already made the child live with a user, so a khugepaged pass
  // (retract.ts) can pick it: without the lock it unlinks and frees a PTE
  // table we have just allocated and not yet filled, while copyPteRange
  // is about to lock it and map into it through the PMD entry it read (a
  // walk into a freed table: PgtableCorruptError under cow-storm).
  const childLock = mmapLockAt(child);
  downWrite(k.mm, childLock);
  const r = dupMmap(k, parent, child);
  upWrite(k.mm, childLock);
  flushTlbMm(k, parent);
  upWrite(k.mm, lock);
  if (r < 0) {
    // Give the child up as one user among others (dup_mm's error path is
    // mmput, kernel/fork.c), not by tearing it down ourselves: it has
    // been live since mm_alloc, and a khugepaged pass (kthread.ts) may
    // have taken mmget_not_zero on it while we copied, then queued on its
    // mmap_lock. Calling exit_mmap + mmdrop here freed the record under
    // that reference (mm_users still 2): the next fork reused the record
    // and reset mm_users to 1 for its own child, khugepaged got the lock,
    // and its mmput dropped that to 0 and ran exit_mmap + mmdrop on the
    // new child while its task was queued or running. The task then read
    // back zeroed pages (its mappings gone, its CPU's mm_count keeping
    // the PGD), or was switched to with the PGD freed (CR3 root -1:
    // walk-non-pagetable, the open finding of cow-storm asi-on+ephmap at
    // 8 CPUs). With mmput, whichever user goes last tears it down, once.
    mmput(k, child);
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
  let copied = 0;
  let r = 0;
  for (let i = 0; i < k.maxVmas && r === 0; i++) {
    const at = vmaAt(k, parent, i);
    const flags = v[at + VMA_FLAGS];
    if (flags === 0) continue;
    // Into the reverse map before any PTE is copied (as dup_mmap links the
    // new VMA first): a walker looking for the page must find the child's
    // mapping as soon as it exists.
    vmaCopyTo(k, at, vmaAt(k, child, i));
    const end = v[at + VMA_END];
    for (let vpn = v[at + VMA_START]; vpn < end && r === 0;) {
      const chunkEnd = Math.min(end, (Math.floor(vpn / PTRS_PER_PTE) + 1) * PTRS_PER_PTE);
      const n = copyPteRange(k, flags, proot, croot, vpn, chunkEnd);
      if (n < 0) r = n;
      else copied += n;
      vpn = chunkEnd;
    }
  }
  Atomics.add(k.mm, child * MM_STRIDE + MM_ANON_PAGES, copied);
  return r;
}

/**
 * copy_pte_range(): the present PTEs of one parent PTE table in [start,
 * end), under both tables' locks (parent first, as Linux nests them).
 * Reclaim clears file PTEs under the PTE lock without mmap_lock, so the
 * parent's lock is what keeps a PTE we read from being unmapped, and its
 * page freed, before we take our reference; the reference is taken before
 * the child's PTE is published. Returns the anonymous pages copied, or
 * ENOMEM.
 */
function copyPteRange(k: KernelCtx, flags: number, proot: number, croot: number, start: number, end: number): number {
  const src = pteTableSlot(k, proot, start * PAGE);
  if (src < 0) return 0;
  const w = pteAlloc(k.env, k.cpu, croot, start * PAGE);
  if (w < 0) return w;
  const dst = pteTableSlot(k, croot, start * PAGE);
  const ref = k.ref;
  const shared = (flags & VM_SHARED) !== 0;
  const prot = vmPageProt(flags);
  const pt = k.env.pt;
  let copied = 0;
  let r = 0;
  pteLock(k, src);
  pteLock(k, dst);
  for (let vpn = start; vpn < end; vpn++) {
    const va = vpn * PAGE;
    // A NUMA hinting entry is copied as it stands, copy-on-write like a
    // present PTE (copy_nonpresent_pte keeps a protnone entry's state the
    // same way copy_present_pte would): both sides lose write, the page
    // gains a reference, and each side's next access restores its own
    // entry (do_numa_page), which a write then copies (do_wp_page). Not
    // present on either side and already flushed by its change_prot_numa
    // (mmap_lock excludes it): no flush of its own. Migration entries do
    // not reach here: migration runs under mmap_lock for read.
    const sw = entryWord(src, vpn & (PTRS_PER_PTE - 1));
    const slo = readLo(pt, sw);
    if (pteIsProtNone(slo)) {
      const shi = readHi(pt, sw);
      const pfn = ptePfn(slo, shi);
      const lo = shared ? slo : slo & ~PTE_RW;
      if (lo !== slo) setEntry(pt, k.env.seq, sw, lo, shi);
      getPage(k, pfn);
      setEntry(pt, k.env.seq, entryWord(dst, vpn & (PTRS_PER_PTE - 1)), lo, shi);
      if (!isFilePage(k, pfn)) copied++;
      continue;
    }
    if (lookupAddress(k.env, proot, va, ref) < 0) continue;
    const pfn = ref.pfn;
    let childProt = prot;
    if (!shared) {
      if ((ref.lo & PTE_RW) !== 0) changeProtection(k.env, proot, va, prot & ~PTE_RW);
      childProt = prot & ~PTE_RW;
    }
    getPage(k, pfn);
    r = mapPte(k.env, k.cpu, croot, va, pfn, childProt);
    if (r < 0) {
      putPage(k, pfn);
      break;
    }
    // Page-cache pages of file mappings are not anonymous (MM_ANONPAGES).
    if (!isFilePage(k, pfn)) copied++;
  }
  pteUnlock(k, dst);
  pteUnlock(k, src);
  return r < 0 ? r : copied;
}
