// mshare regions (the posted series "mm: Add support for mshare", Khalid
// Aziz then Anthony Yznaga, mm/mshare.c): page tables shared between
// processes. A host mm owns the tables of a range; every process that
// attaches the range (a client) gets a VMA over it whose page tables ARE the
// host's: from v3 on the sharing is at the PUD level, i.e. the client's PUD
// entry for the range points at the host's PMD table. A PTE the host (or a
// fault in any client) writes is at once visible to every client's walker;
// a PTE it clears is still cached in the TLB of every CPU that ran any
// client, and the host mm itself never runs, so its mm_cpumask is empty.
// What that means for the flush is src/kernel/mshare/flush.ts.
//
// In the posting read for this (mm/mshare.c, find_shared_vma() and
// msharefs_fill_mm()), the region is P4D-aligned and a client's P4D entry
// (the PGD entry on 4-level x86) is copied from the host's at its first
// fault in the range, under the host's mmap_lock taken nested in the
// client's; the fault then runs against the host's VMA. v3 narrowed the
// sharing to the PUD level, which is what we build: the link is made at
// attach time, which changes nothing for the flush (a client that has not
// faulted yet caches nothing of the range).
//
// Reductions (README "Simplifications"): the range is 1 GiB aligned and at
// most 1 GiB (one PMD table); every client attaches it at the host's
// address, so host and client ranges are the same page numbers; clients
// attach at set-up and never detach or exit (exit_mmap would have to skip
// the shared table, as the series' unmap path does); the host's areas
// are created at set-up and only their rights change later.

import { PTE_P, PTE_PS, PTE_RW, PTE_US, VM_MSHARE, VM_READ, VM_SHARED, VM_VALID, VM_WRITE } from '../../../native-layout/bits.js';
import {
  MSHARE_STRIDE, MSH_CLIENT, MSH_HOST_MM, MSH_NR_CLIENTS, MSH_PAGES, MSH_PMD_TABLE, MSH_START_VPN, MSH_STATE,
  MSH_STRATEGY,
} from '../../../native-layout/fields.js';
import { MSHARE_MAX_CLIENTS, MSHARE_REGIONS } from '../../../native-layout/regions.js';
import { entryWord, ptSlotOf, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { ptIndex, pteHi, pteLo, ptePfn } from '../../hw/pte.js';
import { setPtOwner } from '../../check/sw-walk.js';
import { asiMirrorPgdEntry } from '../asi/mirror.js';
import type { KernelCtx } from '../ctx.js';
import { mmAlloc, mmPgd } from '../mm/mm.js';
import { EEXIST, EINVAL, ENOMEM, allocPgtablePage, pteAlloc } from '../mm/pgtable.js';
import { vmaInsert } from '../mm/vma.js';
import { mmuNotifierRegister, MN_OPS_MSHARE_HOST } from '../mmu_notifier/notifier.js';

const PAGE = 4096;
/** Pages under one PMD table: the most a region can span, and its alignment. */
export const MSHARE_ALIGN_PAGES = 512 * 512;
const MSHARE_LIVE = 1;

/** An mshare set-up that cannot work (bad range, no memory, too many clients). */
export class MshareError extends Error {
  override name = 'MshareError';
}

function regionAt(r: number): number {
  return r * MSHARE_STRIDE;
}

export function mshareHost(k: KernelCtx, r: number): number {
  return k.views.mshare[regionAt(r) + MSH_HOST_MM]!;
}

export function mshareStart(k: KernelCtx, r: number): number {
  return k.views.mshare[regionAt(r) + MSH_START_VPN]!;
}

export function msharePages(k: KernelCtx, r: number): number {
  return k.views.mshare[regionAt(r) + MSH_PAGES]!;
}

export function mshareStrategy(k: KernelCtx, r: number): number {
  return k.views.mshare[regionAt(r) + MSH_STRATEGY]!;
}

export function mshareClientCount(k: KernelCtx, r: number): number {
  return k.views.mshare[regionAt(r) + MSH_NR_CLIENTS]!;
}

export function mshareClient(k: KernelCtx, r: number, i: number): number {
  return k.views.mshare[regionAt(r) + MSH_CLIENT + i]!;
}

/** Is mm attached to region r? */
export function mshareIsClient(k: KernelCtx, r: number, mm: number): boolean {
  const m = k.views.mshare;
  const at = regionAt(r);
  const n = m[at + MSH_NR_CLIENTS]!;
  for (let i = 0; i < n; i++) if (m[at + MSH_CLIENT + i] === mm) return true;
  return false;
}

/** The live region covering page vpn, -1 none. */
export function mshareRegionOf(k: KernelCtx, vpn: number): number {
  const m = k.views.mshare;
  for (let r = 0; r < MSHARE_REGIONS; r++) {
    const at = regionAt(r);
    if (m[at + MSH_STATE] !== MSHARE_LIVE) continue;
    const s = m[at + MSH_START_VPN]!;
    if (vpn >= s && vpn < s + m[at + MSH_PAGES]!) return r;
  }
  return -1;
}

/** Every region free (boot). */
export function mshareReset(k: KernelCtx): void {
  k.views.mshare.fill(0);
}

/**
 * Creates region r: a host mm for pages [startVpn, startVpn + pages) with
 * its PUD and PMD tables allocated now (the PMD table is what clients will
 * share, so it must exist before the first attach and never be freed), and
 * the host notifier subscribed (the series' mmu notifier on the host mm).
 * Set-up only. Returns the host mm. Throws MshareError.
 */
export function mshareCreate(k: KernelCtx, r: number, startVpn: number, pages: number, strategy: number): number {
  if (!Number.isInteger(r) || r < 0 || r >= MSHARE_REGIONS) throw new MshareError(`mshare region ${r} is invalid: use 0..${MSHARE_REGIONS - 1}`);
  if (startVpn % MSHARE_ALIGN_PAGES !== 0 || pages < 1 || pages > MSHARE_ALIGN_PAGES) {
    throw new MshareError(`mshare range of ${pages} pages at page ${startVpn} is invalid: it must start 1 GiB aligned and span 1..${MSHARE_ALIGN_PAGES} pages`);
  }
  const host = mmAlloc(k);
  if (host < 0) throw new MshareError('mshare: no mm slot or memory for the host mm');
  const root = mmPgd(k, host);
  const va = startVpn * PAGE;
  // __pte_alloc down to the first PTE table populates the PUD and PMD levels.
  if (pteAlloc(k.env, k.cpu, root, va) < 0) throw new MshareError('mshare: no memory for the host page tables');
  const pmd = lowerTable(k, lowerTable(k, root, va, 4), va, 3);
  const m = k.views.mshare;
  const at = regionAt(r);
  m[at + MSH_HOST_MM] = host;
  m[at + MSH_START_VPN] = startVpn;
  m[at + MSH_PAGES] = pages;
  m[at + MSH_PMD_TABLE] = pmd;
  m[at + MSH_STRATEGY] = strategy;
  m[at + MSH_NR_CLIENTS] = 0;
  Atomics.store(m, at + MSH_STATE, MSHARE_LIVE);
  mmuNotifierRegister(k, host, MN_OPS_MSHARE_HOST, r);
  return host;
}

/** The table an entry at `level` of `table` points to (present, not a leaf). */
function lowerTable(k: KernelCtx, table: number, va: number, level: number): number {
  const w = entryWord(ptSlotOf(k.frame, table), ptIndex(va, level));
  const lo = readLo(k.env.pt, w);
  if ((lo & PTE_P) === 0 || (lo & PTE_PS) !== 0) throw new MshareError(`mshare: level-${level} entry for 0x${va.toString(16)} is not a table`);
  return ptePfn(lo, readHi(k.env.pt, w));
}

/**
 * An area of the host: pages [startVpn, startVpn + pages) of region r with
 * rights vmFlags (VM_READ / VM_WRITE), as an mmap of the mshare file does
 * in the host mm. Set-up only. 0, EINVAL (outside the region), EEXIST, ENOMEM.
 */
export function mshareMapHost(k: KernelCtx, r: number, startVpn: number, pages: number, vmFlags: number): number {
  const s = mshareStart(k, r);
  if (startVpn < s || startVpn + pages > s + msharePages(k, r)) return EINVAL;
  return vmaInsert(k, mshareHost(k, r), startVpn, startVpn + pages, (vmFlags & (VM_READ | VM_WRITE)) | VM_SHARED | VM_MSHARE);
}

/**
 * Attaches client mm to region r (mmap of the mshare file in the client):
 * a VMA over the whole range, and the client's PUD entry for it pointed at
 * the host's PMD table. From then on the client's walks of the range go
 * through the host's tables. Set-up only. 0, EEXIST (the client maps
 * something there already), ENOMEM. Throws MshareError past
 * MSHARE_MAX_CLIENTS.
 */
export function mshareAttach(k: KernelCtx, r: number, mm: number): number {
  const m = k.views.mshare;
  const at = regionAt(r);
  const n = m[at + MSH_NR_CLIENTS]!;
  if (n >= MSHARE_MAX_CLIENTS) throw new MshareError(`mshare region ${r} already has ${n} clients (at most ${MSHARE_MAX_CLIENTS})`);
  const start = m[at + MSH_START_VPN]!;
  const va = start * PAGE;
  const root = mmPgd(k, mm);
  const pt = k.env.pt;
  const pgdW = entryWord(ptSlotOf(k.frame, root), ptIndex(va, 4));
  if ((readLo(pt, pgdW) & PTE_P) === 0) {
    const pud = allocPgtablePage(k.env, k.cpu);
    if (pud < 0) return ENOMEM;
    setPtOwner(k.views, ptSlotOf(k.frame, pud), mm);
    setEntry(pt, k.env.seq, pgdW, pteLo(pud, PTE_P | PTE_RW | PTE_US), pteHi(pud, 0));
    asiMirrorPgdEntry(k.views, k.frame, k.env.seq, ptSlotOf(k.frame, root), ptIndex(va, 4));
  }
  const pud = lowerTable(k, root, va, 4);
  const pudW = entryWord(ptSlotOf(k.frame, pud), ptIndex(va, 3));
  if ((readLo(pt, pudW) & PTE_P) !== 0) return EEXIST;
  const e = vmaInsert(k, mm, start, start + m[at + MSH_PAGES]!, VM_READ | VM_WRITE | VM_SHARED | VM_MSHARE | VM_VALID);
  if (e < 0) return e;
  const pmd = m[at + MSH_PMD_TABLE]!;
  setEntry(pt, k.env.seq, pudW, pteLo(pmd, PTE_P | PTE_RW | PTE_US), pteHi(pmd, 0));
  m[at + MSH_CLIENT + n] = mm;
  Atomics.store(m, at + MSH_NR_CLIENTS, n + 1);
  return 0;
}
