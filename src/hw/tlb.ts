// Per-CPU TLB: a set-associative array of 4 KiB entries and one of huge
// (2 MiB and 1 GiB) entries, in the tlb4k / tlbHuge regions.
//
// OWNERSHIP: only the owner CPU mutates its TLB (fill, invalidate). Another
// CPU that needs an entry gone sends the owner an IPI, which is what makes TLB
// shootdown a protocol at all. Mutators assert it (owner.ts); lookups do not
// (they are the hot path, and only the owner looks up anyway). Other threads
// may read entries racily at quiescent points (the invariant checker).
//
// Tag = (PCID, VPN, size); an entry filled from a PTE with G set matches every
// PCID (CR4.PGE=1 is assumed). vpnLo holds the VPN at the entry's own page
// size: va >> 12 (low 32 bits; bits 32..35 in meta) for 4 KiB, va >> 21 for
// 2 MiB, va >> 30 for 1 GiB. Set index = that VPN & (sets - 1); a huge lookup
// probes the 2 MiB set, then the 1 GiB set, of the same array.
//
// Replacement: an entry already holding the tag is overwritten (a refill to
// set D, for instance), else the first invalid way, else the set's
// round-robin cursor (tlbVictim) picks the way and advances.
//
// fillGen is the frame's contentGen at fill (for huge entries, the first
// frame's): the oracle's use-after-free check, never read by the kernel.

import {
  PAGE_SIZE_1G as PAGE_SIZE_1G_, PAGE_SIZE_2M as PAGE_SIZE_2M_, PAGE_SIZE_4K as PAGE_SIZE_4K_, TLB_GLOBAL as TLB_GLOBAL_,
  TLB_PCID_MASK as TLB_PCID_MASK_, TLB_SIZE_MASK as TLB_SIZE_MASK_, TLB_SIZE_SHIFT as TLB_SIZE_SHIFT_, TLB_VALID as TLB_VALID_,
  TLB_VPNHI_MASK as TLB_VPNHI_MASK_, TLB_VPNHI_SHIFT as TLB_VPNHI_SHIFT_,
} from '../../native-layout/bits.js';
import {
  TLB_FILL_GEN as TLB_FILL_GEN_, TLB_META as TLB_META_, TLB_PFN as TLB_PFN_, TLB_STRIDE as TLB_STRIDE_, TLB_VPN_LO as TLB_VPN_LO_,
} from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { assertOwner } from './owner.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const PAGE_SIZE_1G = PAGE_SIZE_1G_, PAGE_SIZE_2M = PAGE_SIZE_2M_, PAGE_SIZE_4K = PAGE_SIZE_4K_, TLB_GLOBAL = TLB_GLOBAL_,
  TLB_PCID_MASK = TLB_PCID_MASK_, TLB_SIZE_MASK = TLB_SIZE_MASK_, TLB_SIZE_SHIFT = TLB_SIZE_SHIFT_, TLB_VALID = TLB_VALID_,
  TLB_VPNHI_MASK = TLB_VPNHI_MASK_, TLB_VPNHI_SHIFT = TLB_VPNHI_SHIFT_, TLB_FILL_GEN = TLB_FILL_GEN_, TLB_META = TLB_META_, TLB_PFN = TLB_PFN_,
  TLB_STRIDE = TLB_STRIDE_, TLB_VPN_LO = TLB_VPN_LO_;

const DIV_4K = 2 ** 12;
const DIV_2M = 2 ** 21;
const DIV_1G = 2 ** 30;
const DIV_VPNHI = 2 ** 44;
const SIZE_2M_META = PAGE_SIZE_2M << TLB_SIZE_SHIFT;
const SIZE_1G_META = PAGE_SIZE_1G << TLB_SIZE_SHIFT;
/** Meta bits that, with vpnLo, make an entry's address tag. */
const TAG_MASK = TLB_VALID | TLB_VPNHI_MASK | TLB_SIZE_MASK;
/** A pcid argument that matches every PCID (PCIDs are 0..4095). */
const ANY_PCID = -1;

export class Tlb {
  readonly cpu: number;
  /** The regions (shared views; this CPU's entries start at base4k / baseHuge). */
  readonly t4: Int32Array;
  readonly th: Int32Array;
  private readonly victim: Int32Array;
  readonly base4k: number;
  readonly baseHuge: number;
  readonly end4k: number;
  private readonly endHuge: number;
  private readonly setMask4k: number;
  private readonly setMaskHuge: number;
  private readonly ways4k: number;
  private readonly waysHuge: number;
  private readonly setWords4k: number;
  private readonly setWordsHuge: number;
  private readonly victimBase4k: number;
  private readonly victimBaseHuge: number;

  constructor(mem: MachineMemory, cpu: number) {
    const s = mem.layout.shape;
    this.cpu = cpu;
    this.t4 = mem.views.tlb4k;
    this.th = mem.views.tlbHuge;
    this.victim = mem.views.tlbVictim;
    this.ways4k = s.tlb4kWays;
    this.waysHuge = s.tlbHugeWays;
    this.setMask4k = s.tlb4kSets - 1;
    this.setMaskHuge = s.tlbHugeSets - 1;
    this.setWords4k = s.tlb4kWays * TLB_STRIDE;
    this.setWordsHuge = s.tlbHugeWays * TLB_STRIDE;
    this.base4k = cpu * s.tlb4kSets * this.setWords4k;
    this.baseHuge = cpu * s.tlbHugeSets * this.setWordsHuge;
    this.end4k = this.base4k + s.tlb4kSets * this.setWords4k;
    this.endHuge = this.baseHuge + s.tlbHugeSets * this.setWordsHuge;
    this.victimBase4k = cpu * (s.tlb4kSets + s.tlbHugeSets);
    this.victimBaseHuge = this.victimBase4k + s.tlb4kSets;
  }

  // ---- hot path ------------------------------------------------------------

  /** Word index into t4 of the entry translating (vpnLo, vpnHi) under pcid, or -1. */
  lookup4k(vpnLo: number, vpnHi: number, pcid: number): number {
    const t = this.t4;
    const want = TLB_VALID | (vpnHi << TLB_VPNHI_SHIFT);
    let e = this.base4k + (vpnLo & this.setMask4k) * this.setWords4k;
    const end = e + this.setWords4k;
    for (; e < end; e += TLB_STRIDE) {
      if (t[e + TLB_VPN_LO] !== vpnLo) continue;
      const meta = t[e + TLB_META];
      // The 4 KiB array only holds 4 KiB entries: size bits are always 0 here.
      if ((meta & TAG_MASK) === want && ((meta & TLB_PCID_MASK) === pcid || (meta & TLB_GLOBAL) !== 0)) return e;
    }
    return -1;
  }

  /** Word index into th of a 2 MiB or 1 GiB entry covering va under pcid, or -1. */
  lookupHuge(va: number, pcid: number): number {
    const e = this.probeHuge((va / DIV_2M) | 0, SIZE_2M_META, pcid);
    return e >= 0 ? e : this.probeHuge((va / DIV_1G) | 0, SIZE_1G_META, pcid);
  }

  private probeHuge(vpn: number, sizeMeta: number, pcid: number): number {
    const t = this.th;
    const want = TLB_VALID | sizeMeta;
    let e = this.baseHuge + (vpn & this.setMaskHuge) * this.setWordsHuge;
    const end = e + this.setWordsHuge;
    for (; e < end; e += TLB_STRIDE) {
      if (t[e + TLB_VPN_LO] !== vpn) continue;
      const meta = t[e + TLB_META];
      if ((meta & TAG_MASK) === want && ((meta & TLB_PCID_MASK) === pcid || (meta & TLB_GLOBAL) !== 0)) return e;
    }
    return -1;
  }

  // ---- fill ----------------------------------------------------------------

  /**
   * Caches a translation. size: PAGE_SIZE_4K/2M/1G; flags: TLB_GLOBAL, RW,
   * US, NX, DIRTY, SPEC; pfn: first frame of the page. Returns the entry's
   * word index (in t4 for 4 KiB, th otherwise).
   */
  fill(va: number, size: number, pcid: number, flags: number, pfn: number, gen: number): number {
    assertOwner(this.cpu, 'fill the TLB');
    let t: Int32Array;
    let vpn: number;
    let vpnHi = 0;
    let setBase: number;
    let setWords: number;
    let cursor: number;
    let ways: number;
    if (size === PAGE_SIZE_4K) {
      t = this.t4;
      vpn = (va / DIV_4K) | 0;
      vpnHi = (va / DIV_VPNHI) | 0;
      const set = vpn & this.setMask4k;
      setWords = this.setWords4k;
      setBase = this.base4k + set * setWords;
      cursor = this.victimBase4k + set;
      ways = this.ways4k;
    } else {
      t = this.th;
      vpn = size === PAGE_SIZE_2M ? (va / DIV_2M) | 0 : (va / DIV_1G) | 0;
      const set = vpn & this.setMaskHuge;
      setWords = this.setWordsHuge;
      setBase = this.baseHuge + set * setWords;
      cursor = this.victimBaseHuge + set;
      ways = this.waysHuge;
    }
    const meta = (pcid & TLB_PCID_MASK) | (vpnHi << TLB_VPNHI_SHIFT) | TLB_VALID | (size << TLB_SIZE_SHIFT) | flags;
    const tag = meta & TAG_MASK;
    const global = (flags & TLB_GLOBAL) !== 0;
    let way = -1;
    let firstInvalid = -1;
    for (let i = 0; i < ways; i++) {
      const e = setBase + i * TLB_STRIDE;
      const m = t[e + TLB_META];
      if ((m & TLB_VALID) === 0) {
        if (firstInvalid < 0) firstInvalid = i;
        continue;
      }
      // Same address tag visible under this PCID: never keep two entries that
      // both match one lookup.
      if (t[e + TLB_VPN_LO] === vpn && (m & TAG_MASK) === tag
        && (global || (m & TLB_GLOBAL) !== 0 || (m & TLB_PCID_MASK) === (pcid & TLB_PCID_MASK))) {
        way = i;
        break;
      }
    }
    if (way < 0) way = firstInvalid;
    if (way < 0) {
      way = this.victim[cursor];
      this.victim[cursor] = way + 1 === ways ? 0 : way + 1;
    }
    const e = setBase + way * TLB_STRIDE;
    t[e + TLB_VPN_LO] = vpn;
    t[e + TLB_PFN] = pfn;
    t[e + TLB_FILL_GEN] = gen;
    t[e + TLB_META] = meta;
    return e;
  }

  // ---- invalidation ----------------------------------------------------------

  /**
   * Drops every entry that translates va and is either a non-global entry of
   * pcid, or (dropGlobal) a global entry. INVLPG and a page fault drop both;
   * INVPCID type 0 only the former.
   */
  dropVa(va: number, pcid: number, dropGlobal: boolean): number {
    assertOwner(this.cpu, 'invalidate TLB entries');
    const vpn4k = (va / DIV_4K) | 0;
    const hi = (va / DIV_VPNHI) | 0;
    let n = this.dropInSet(this.t4, this.base4k + (vpn4k & this.setMask4k) * this.setWords4k, this.setWords4k,
      vpn4k, TLB_VALID | (hi << TLB_VPNHI_SHIFT), pcid, dropGlobal);
    const vpn2m = (va / DIV_2M) | 0;
    n += this.dropInSet(this.th, this.baseHuge + (vpn2m & this.setMaskHuge) * this.setWordsHuge, this.setWordsHuge,
      vpn2m, TLB_VALID | SIZE_2M_META, pcid, dropGlobal);
    const vpn1g = (va / DIV_1G) | 0;
    n += this.dropInSet(this.th, this.baseHuge + (vpn1g & this.setMaskHuge) * this.setWordsHuge, this.setWordsHuge,
      vpn1g, TLB_VALID | SIZE_1G_META, pcid, dropGlobal);
    return n;
  }

  /**
   * Drops every entry that translates va under any PCID, and (dropGlobal)
   * the global ones: a broadcast invalidation without a PCID (INVLPGB of a
   * kernel range).
   */
  dropVaAllPcids(va: number, dropGlobal: boolean): number {
    return this.dropVa(va, ANY_PCID, dropGlobal);
  }

  /** pcid ANY_PCID matches every non-global entry. */
  private dropInSet(t: Int32Array, setBase: number, setWords: number, vpn: number, tag: number, pcid: number,
    dropGlobal: boolean): number {
    let n = 0;
    for (let e = setBase; e < setBase + setWords; e += TLB_STRIDE) {
      const m = t[e + TLB_META];
      if (t[e + TLB_VPN_LO] !== vpn || (m & TAG_MASK) !== tag) continue;
      const g = (m & TLB_GLOBAL) !== 0;
      if (g ? dropGlobal : pcid === ANY_PCID || (m & TLB_PCID_MASK) === pcid) {
        t[e + TLB_META] = 0;
        n++;
      }
    }
    return n;
  }

  /** Drops the non-global entries of pcid (INVPCID type 1; CR3 write without NOFLUSH). */
  dropPcid(pcid: number): number {
    assertOwner(this.cpu, 'invalidate TLB entries');
    return this.dropWhere(TLB_VALID | TLB_GLOBAL | TLB_PCID_MASK, TLB_VALID | pcid);
  }

  /** Drops every non-global entry of every PCID (INVPCID type 3). */
  dropAllNonGlobal(): number {
    assertOwner(this.cpu, 'invalidate TLB entries');
    return this.dropWhere(TLB_VALID | TLB_GLOBAL, TLB_VALID);
  }

  /** Drops everything, globals included (INVPCID type 2; CR4.PGE toggle). */
  dropAll(): number {
    assertOwner(this.cpu, 'invalidate TLB entries');
    return this.dropWhere(TLB_VALID, TLB_VALID);
  }

  private dropWhere(mask: number, value: number): number {
    let n = 0;
    const t4 = this.t4;
    for (let e = this.base4k; e < this.end4k; e += TLB_STRIDE) {
      if ((t4[e + TLB_META] & mask) === value) { t4[e + TLB_META] = 0; n++; }
    }
    const th = this.th;
    for (let e = this.baseHuge; e < this.endHuge; e += TLB_STRIDE) {
      if ((th[e + TLB_META] & mask) === value) { th[e + TLB_META] = 0; n++; }
    }
    return n;
  }

  // ---- inspection (tests, checkers; not the hot path) -----------------------

  /** Meta of the entry a lookup of va under pcid would hit, or 0. */
  probe(va: number, pcid: number): number {
    let e = this.lookup4k((va / DIV_4K) | 0, (va / DIV_VPNHI) | 0, pcid);
    if (e >= 0) return this.t4[e + TLB_META];
    e = this.lookupHuge(va, pcid);
    return e >= 0 ? this.th[e + TLB_META] : 0;
  }

  /** pfn the entry for va under pcid translates to (4 KiB frame), or -1. */
  probePfn(va: number, pcid: number): number {
    const vpn = (va / DIV_4K) | 0;
    let e = this.lookup4k(vpn, (va / DIV_VPNHI) | 0, pcid);
    if (e >= 0) return this.t4[e + TLB_PFN];
    e = this.lookupHuge(va, pcid);
    if (e < 0) return -1;
    const size = (this.th[e + TLB_META] & TLB_SIZE_MASK) >> TLB_SIZE_SHIFT;
    return this.th[e + TLB_PFN] + (size === PAGE_SIZE_2M ? vpn & 0x1ff : vpn & 0x3ffff);
  }

  /**
   * Word index (th) of a valid 2 MiB entry for va under ANY PCID, global or
   * not, or -1. For audits run by another CPU (the sensitivity flip's
   * "nobody still caches this block" check): a racy read of entries the
   * owner may be rewriting, so only ever used to look for entries that
   * must not exist at all.
   */
  findHuge2mAnyPcid(va: number): number {
    const t = this.th;
    const vpn = (va / DIV_2M) | 0;
    let e = this.baseHuge + (vpn & this.setMaskHuge) * this.setWordsHuge;
    const end = e + this.setWordsHuge;
    for (; e < end; e += TLB_STRIDE) {
      if (t[e + TLB_VPN_LO] !== vpn) continue;
      if ((t[e + TLB_META] & (TLB_VALID | TLB_SIZE_MASK)) === (TLB_VALID | SIZE_2M_META)) return e;
    }
    return -1;
  }

  countValid(): number {
    let n = 0;
    for (let e = this.base4k; e < this.end4k; e += TLB_STRIDE) if ((this.t4[e + TLB_META] & TLB_VALID) !== 0) n++;
    for (let e = this.baseHuge; e < this.endHuge; e += TLB_STRIDE) if ((this.th[e + TLB_META] & TLB_VALID) !== 0) n++;
    return n;
  }

  /** Calls fn for every valid entry: (meta, vpnLo, pfn, fillGen). For quiescent checks. */
  forEachValid(fn: (meta: number, vpnLo: number, pfn: number, fillGen: number) => void): void {
    for (const [t, start, end] of [[this.t4, this.base4k, this.end4k], [this.th, this.baseHuge, this.endHuge]] as const) {
      for (let e = start; e < end; e += TLB_STRIDE) {
        const m = t[e + TLB_META];
        if ((m & TLB_VALID) !== 0) fn(m, t[e + TLB_VPN_LO], t[e + TLB_PFN], t[e + TLB_FILL_GEN]);
      }
    }
  }
}
