// Paging-structure cache: per CPU, cached PDE pointers tagged by PCID, as the
// Intel SDM (vol. 3A §4.10.3) describes the "PDE cache": for va bits 47..21 it
// remembers the page table (level 1) that the PDE points to, so a walk starts
// at level 1. The cached pointer outlives the PDE: a page-table page that is
// freed and reused while still cached here is walked as garbage. That is the
// hazard behind the kernel's "free page tables only after the flush" rule
// (mmu_gather, tlb_remove_table), and why INVLPG and INVPCID also drop the
// PCID's PSC entries.
//
// Direct-mapped (entry = (tag + pcid) mod entries): simple, and a conflict
// only costs a walk. Only the owner CPU mutates it (see owner.ts).
//
// Each entry also keeps the rights of the levels above the PDE pointer
// (PSC_RW/US/NX in meta) and, for the oracle only, the table frame's
// contentGen at fill: a table freed and reused as another table keeps state
// FS_PAGETABLE but not its generation.

import {
  PSC_NX as PSC_NX_, PSC_PCID_MASK as PSC_PCID_MASK_, PSC_RW as PSC_RW_, PSC_US as PSC_US_, PSC_VALID as PSC_VALID_,
} from '../../native-layout/bits.js';
import {
  PSC_FILL_GEN as PSC_FILL_GEN_, PSC_META as PSC_META_, PSC_PT_PFN as PSC_PT_PFN_, PSC_STRIDE as PSC_STRIDE_, PSC_VA_TAG as PSC_VA_TAG_,
} from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { assertOwner } from './owner.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const PSC_NX = PSC_NX_, PSC_PCID_MASK = PSC_PCID_MASK_, PSC_RW = PSC_RW_, PSC_US = PSC_US_, PSC_VALID = PSC_VALID_, PSC_FILL_GEN = PSC_FILL_GEN_,
  PSC_META = PSC_META_, PSC_PT_PFN = PSC_PT_PFN_, PSC_STRIDE = PSC_STRIDE_, PSC_VA_TAG = PSC_VA_TAG_;

export { PSC_NX, PSC_RW, PSC_US };

export class Psc {
  readonly cpu: number;
  private readonly p: Int32Array;
  private readonly base: number;
  private readonly entries: number;

  constructor(mem: MachineMemory, cpu: number) {
    this.cpu = cpu;
    this.p = mem.views.psc;
    this.entries = mem.layout.shape.pscEntries;
    this.base = cpu * this.entries * PSC_STRIDE;
  }

  /** Word index of the valid entry for (pcid, va >> 21), or -1. */
  lookup(pcid: number, tag: number): number {
    const e = this.base + ((tag + pcid) % this.entries) * PSC_STRIDE;
    const p = this.p;
    if ((p[e + PSC_META] & (PSC_VALID | PSC_PCID_MASK)) === (PSC_VALID | pcid) && p[e + PSC_VA_TAG] === tag) return e;
    return -1;
  }

  meta(e: number): number {
    return this.p[e + PSC_META];
  }

  ptPfn(e: number): number {
    return this.p[e + PSC_PT_PFN];
  }

  fillGen(e: number): number {
    return this.p[e + PSC_FILL_GEN];
  }

  /** rights: PSC_RW | PSC_US | PSC_NX as accumulated above the PDE pointer. */
  fill(pcid: number, tag: number, ptPfn: number, rights: number, gen: number): void {
    assertOwner(this.cpu, 'fill the paging-structure cache');
    const e = this.base + ((tag + pcid) % this.entries) * PSC_STRIDE;
    const p = this.p;
    p[e + PSC_VA_TAG] = tag;
    p[e + PSC_PT_PFN] = ptPfn;
    p[e + PSC_FILL_GEN] = gen;
    p[e + PSC_META] = pcid | PSC_VALID | rights;
  }

  /** Drops the entry for one address of one PCID (a page fault does this). */
  invalidateAddr(pcid: number, tag: number): void {
    assertOwner(this.cpu, 'invalidate the paging-structure cache');
    const e = this.lookup(pcid, tag);
    if (e >= 0) this.p[e + PSC_META] = 0;
  }

  invalidatePcid(pcid: number): void {
    assertOwner(this.cpu, 'invalidate the paging-structure cache');
    const p = this.p;
    const end = this.base + this.entries * PSC_STRIDE;
    for (let e = this.base; e < end; e += PSC_STRIDE) {
      if ((p[e + PSC_META] & (PSC_VALID | PSC_PCID_MASK)) === (PSC_VALID | pcid)) p[e + PSC_META] = 0;
    }
  }

  invalidateAll(): void {
    assertOwner(this.cpu, 'invalidate the paging-structure cache');
    const p = this.p;
    const end = this.base + this.entries * PSC_STRIDE;
    for (let e = this.base; e < end; e += PSC_STRIDE) p[e + PSC_META] = 0;
  }

  /** Valid entries (tests, checkers). */
  countValid(pcid = -1): number {
    const p = this.p;
    let n = 0;
    const end = this.base + this.entries * PSC_STRIDE;
    for (let e = this.base; e < end; e += PSC_STRIDE) {
      const m = p[e + PSC_META];
      if ((m & PSC_VALID) !== 0 && (pcid < 0 || (m & PSC_PCID_MASK) === pcid)) n++;
    }
    return n;
  }
}
