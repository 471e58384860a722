// A guest_memfd file and the VM's second-level table (issue 8), as
// virt/kvm/guest_memfd.c and the KVM MMU use them, reduced:
//
// - The guest reaches its memory only through the second-level table
//   (EPT/NPT) its VM owns: gfn -> host pfn. Here each vCPU owns one slice
//   of the VM's table in the `gmemSlat` region (1 + pfn, 0 not present);
//   a guest access to a non-present gfn is an EPT violation that faults
//   the folio in (kvm_gmem_get_pfn(): allocate the folio through the
//   strategy, which takes it out of the direct map, then install it).
// - Punching a hole (fallocate(PUNCH_HOLE), or truncation) first runs the
//   invalidation every user of the file registered
//   (kvm_gmem_invalidate_begin() -> kvm_mmu_unmap_gfn_range(), the
//   mmu-notifier-style callback): the second-level entries go, and only
//   then does the folio leave the file (->free_folio, the strategy).
//   Freeing first would let the guest keep writing a frame its next owner
//   already uses.
//
// Simplifications: one VM per vCPU slice with no second-level TLB (each
// guest access reads the table), order-0 folios only, and a hole is
// punched by the vCPU that owns the slice (so the invalidation needs no
// IPI to another vCPU).

import { C } from '../../../native-layout/counters.js';
import { GMEM_SLAT_GFN, GMEM_SLAT_STRIDE } from '../../../native-layout/fields.js';
import { GMEM_SLAT_GFNS } from '../../../native-layout/regions.js';
import type { GmemCpuParts, GmemStrategy } from './strategy.js';

/** The mmu-notifier-style callback a file's users register (kvm_gmem_invalidate_begin). */
export interface GmemInvalidateNotifier {
  /** [start, end) of the file's gfns is about to lose its folios: drop every translation of them. */
  invalidateRange(start: number, end: number): void;
}

/** The second-level table of one vCPU's slice, as the VM's notifier clears it. */
export class SlatSlice implements GmemInvalidateNotifier {
  private readonly at: number;
  /** Entries invalidated (for the report). */
  invalidated = 0;

  constructor(private readonly slat: Int32Array, vcpu: number) {
    this.at = vcpu * GMEM_SLAT_STRIDE + GMEM_SLAT_GFN;
  }

  /** The host pfn of gfn, or -1 (not present: an EPT violation). */
  lookup(gfn: number): number {
    return Atomics.load(this.slat, this.at + gfn) - 1;
  }

  install(gfn: number, pfn: number): void {
    Atomics.store(this.slat, this.at + gfn, pfn + 1);
  }

  invalidateRange(start: number, end: number): void {
    for (let g = start; g < end; g++) {
      if (Atomics.exchange(this.slat, this.at + g, 0) !== 0) this.invalidated++;
    }
  }
}

/** One vCPU's guest_memfd file: its folios by gfn, the strategy, the notifier. */
export class GmemFile {
  /** pfn + 1 of each gfn's folio (the file's page cache, owner-private). */
  private readonly folios: Int32Array;

  constructor(
    private readonly g: GmemCpuParts,
    private readonly strategy: GmemStrategy,
    private readonly notifier: GmemInvalidateNotifier,
    readonly pages: number,
  ) {
    if (pages < 1 || pages > GMEM_SLAT_GFNS) throw new RangeError(`guest_memfd of ${pages} pages: use 1..${GMEM_SLAT_GFNS}`);
    this.folios = new Int32Array(pages);
  }

  /** The folio backing gfn, or -1. */
  folio(gfn: number): number {
    return this.folios[gfn]! - 1;
  }

  /**
   * kvm_gmem_get_pfn() on an EPT violation: the folio for gfn (allocated
   * and taken out of the direct map by the strategy), or -1 on failure.
   * The caller installs it in the second-level table.
   */
  getPfn(gfn: number): number {
    const have = this.folio(gfn);
    if (have >= 0) return have;
    const pfn = this.strategy.allocFolio(this.g);
    if (pfn < 0) return -1;
    this.folios[gfn] = pfn + 1;
    const k = this.g.k;
    k.counters[k.countersAt + C.gmemFaults] += 1;
    return pfn;
  }

  /** fallocate(PUNCH_HOLE) over [start, end): invalidate, then free the folios. */
  punchHole(start: number, end: number): number {
    this.notifier.invalidateRange(start, end);
    let n = 0;
    for (let gfn = start; gfn < end; gfn++) {
      const pfn = this.folio(gfn);
      if (pfn < 0) continue;
      this.folios[gfn] = 0;
      this.strategy.freeFolio(this.g, pfn);
      n++;
    }
    return n;
  }

  /**
   * Replaces gfn's folio by `to` (migration: the caller copied the data
   * and already invalidated the gfn) and returns the old one, still the
   * caller's to free through the strategy.
   */
  replaceFolio(gfn: number, to: number): number {
    const old = this.folio(gfn);
    this.folios[gfn] = to + 1;
    return old;
  }

  /** Frees every folio (end of run, or the file's release). */
  release(): number {
    return this.punchHole(0, this.pages);
  }
}
