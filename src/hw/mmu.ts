// One CPU's MMU: TLB, paging-structure cache, walker and CR3, and the hot
// access path. Construct one per CPU, in the worker that runs that CPU (only
// the owner mutates its TLB; see owner.ts and tlb.ts).
//
// access() is the fast path: a set lookup, a rights check and the inline
// oracle's load-and-compare, with no allocation, closure or exception. A miss,
// a fault or a violation leaves it through a separate method.

import {
  PAGE_SIZE_2M as PAGE_SIZE_2M_, PTI_USER_PCID_BIT as PTI_USER_PCID_BIT_, PTE_D as PTE_D_, PTE_G as PTE_G_, PTE_NOGEN as PTE_NOGEN_,
  PTE_RW as PTE_RW_, PTE_US as PTE_US_, TLB_GEN_PERMANENT as TLB_GEN_PERMANENT_, TLB_DIRTY as TLB_DIRTY_, TLB_GLOBAL as TLB_GLOBAL_,
  TLB_NX as TLB_NX_, TLB_RW as TLB_RW_, TLB_SIZE_MASK as TLB_SIZE_MASK_, TLB_SIZE_SHIFT as TLB_SIZE_SHIFT_, TLB_SPEC as TLB_SPEC_, TLB_US as TLB_US_,
} from '../../native-layout/bits.js';
import { C as C_ } from '../../native-layout/counters.js';
import {
  COUNTERS_STRIDE as COUNTERS_STRIDE_, FRAME_STRIDE as FRAME_STRIDE_, FR_CONTENT_GEN as FR_CONTENT_GEN_, TLB_FILL_GEN as TLB_FILL_GEN_,
  TLB_META as TLB_META_, TLB_PFN as TLB_PFN_,
} from '../../native-layout/fields.js';
import type { MachineMemory, MachineViews } from '../../native-layout/memory.js';
import { V_STALE_TLB, reportViolation } from '../check/oracle.js';
import { ISOLATION_FILL, ISOLATION_HIT, ISOLATION_SPEC_FILL, checkIsolation } from '../check/isolation.js';
import { loadCr3, readCr3Pcid, readCr3Root } from './cr3.js';
import { FAULT_USER_SUPERVISOR, FAULT_WRITE_PROTECT } from './fault.js';
import { readFrame, writeFrame } from './frames.js';
import {
  INVLPGB_ALL, INVLPGB_ANY_PCID, INVLPGB_INCLUDE_GLOBAL, INVLPGB_PCID, INVLPGB_STRIDE_2M, INVLPGB_USER_PCID, InvlpgbPort,
} from './invlpgb.js';
import { Psc } from './psc.js';
import { StoreBuffer } from './store-buffer.js';
import { Tlb } from './tlb.js';
import { Walker } from './walker.js';
import { traceRings, type TraceRing } from '../trace/ring.js';
import { EV_CR3, EV_FAULT, EV_FLUSH_ALL, EV_INVLPG, EV_INVPCID, EV_TLB_FILL, EV_WALK } from '../trace/events.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const PAGE_SIZE_2M = PAGE_SIZE_2M_, PTI_USER_PCID_BIT = PTI_USER_PCID_BIT_, PTE_D = PTE_D_, PTE_G = PTE_G_, PTE_NOGEN = PTE_NOGEN_,
  PTE_RW = PTE_RW_, PTE_US = PTE_US_, TLB_GEN_PERMANENT = TLB_GEN_PERMANENT_, TLB_DIRTY = TLB_DIRTY_, TLB_GLOBAL = TLB_GLOBAL_, TLB_NX = TLB_NX_,
  TLB_RW = TLB_RW_, TLB_SIZE_MASK = TLB_SIZE_MASK_, TLB_SIZE_SHIFT = TLB_SIZE_SHIFT_, TLB_SPEC = TLB_SPEC_, TLB_US = TLB_US_, C = C_,
  COUNTERS_STRIDE = COUNTERS_STRIDE_, FRAME_STRIDE = FRAME_STRIDE_, FR_CONTENT_GEN = FR_CONTENT_GEN_, TLB_FILL_GEN = TLB_FILL_GEN_,
  TLB_META = TLB_META_, TLB_PFN = TLB_PFN_;

const DIV_4K = 2 ** 12;
const DIV_2M = 2 ** 21;
const DIV_VPNHI = 2 ** 44;
const SIZE_2M_META = PAGE_SIZE_2M << TLB_SIZE_SHIFT;

const C_ACCESSES = C.accesses;
const C_TLB_HITS = C.tlbHits;
const C_TLB_MISSES = C.tlbMisses;
const C_WALKS = C.walks;
const C_PAGE_FAULTS = C.pageFaults;
const C_SPEC_FILLS = C.specFills;
const C_INVLPG = C.invlpg;
const C_INVPCID = C.invpcid;

/** INVPCID types (Intel SDM vol. 2, INVPCID). */
export const INVPCID_ADDR = 0;
export const INVPCID_SINGLE_CTX = 1;
export const INVPCID_ALL_INCL_GLOBAL = 2;
export const INVPCID_ALL_NON_GLOBAL = 3;

const VA_SPLIT = 2 ** 32;
/** PCIDs at or above this tag a nonsensitive (ASI) address space (src/kernel/asi/pcid.ts). */
const ASI_PCID_MIN = 1 << 10;
const KERNEL_HALF = 2 ** 47;
/** Bytes a leaf at walker level 1..3 maps. */
const LEVEL_BYTES = [0, 4096, 2 ** 21, 2 ** 30];

export class Mmu {
  readonly cpu: number;
  readonly tlb: Tlb;
  readonly psc: Psc;
  readonly walker: Walker;
  private readonly views: MachineViews;
  private readonly frame: Int32Array;
  private readonly t4: Int32Array;
  private readonly th: Int32Array;
  private readonly counters: Float64Array;
  private readonly cbase: number;
  /** CR3, cached: only this CPU writes its CR3, through writeCr3(). */
  private root: number;
  private pcid: number;
  /**
   * The PCID user-mode accesses are tagged with: pcid itself, or under PTI
   * (setPtiUser) pcid | PTI_USER_PCID_BIT, the user PCID the entry code's
   * SWITCH_TO_USER_CR3 loads on every return to user mode.
   */
  private upcid: number;
  private ptiUser = false;
  /** This CPU's trace ring: slow paths and flushes only, never the hit path. */
  readonly trace: TraceRing;
  /** INVLPGB requests: issued from here, and applied here for other CPUs' broadcasts. */
  readonly invlpgbPort: InvlpgbPort;
  /** This CPU's store buffer (x86-TSO); the serializing instructions below drain it. */
  readonly storeBuffer: StoreBuffer;
  private readonly invPend: Int32Array;
  private readonly invPendAt: number;
  /** Maps a request's tag to the PCIDs it covers on this CPU (writes them to out, returns how many). */
  private invResolve: (tag: number, out: Int32Array) => number = defaultResolve;
  private readonly invPcids = new Int32Array(64);
  /**
   * Delivery latency: accesses a CPU may still make, through entries a
   * pending INVLPGB covers, before it applies the request (it applies at
   * once at its poll points). 0: before its very next access. The kernel
   * sets its IPI-line latency (irqPollAccesses), so a TLBSYNC skipped shows.
   */
  invlpgbDelay = 0;
  private invCountdown = 0;
  private readonly invApply: (tag: number, vpn: number, pages: number, flags: number) => void;
  /** 4 KiB TLB hits not yet added to the shared counters (see publishCounters). */
  private pendingHits = 0;

  constructor(mem: MachineMemory, cpu: number) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= mem.layout.shape.cpus) {
      throw new RangeError(`cpu ${cpu} is invalid: use 0..${mem.layout.shape.cpus - 1}`);
    }
    this.cpu = cpu;
    this.views = mem.views;
    this.frame = mem.views.frame;
    this.tlb = new Tlb(mem, cpu);
    this.t4 = this.tlb.t4;
    this.th = this.tlb.th;
    this.psc = new Psc(mem, cpu);
    this.walker = new Walker(mem, cpu, this.psc);
    this.counters = mem.views.counters;
    this.cbase = cpu * COUNTERS_STRIDE;
    this.root = readCr3Root(mem.views, cpu);
    this.pcid = readCr3Pcid(mem.views, cpu);
    this.upcid = this.pcid;
    this.trace = traceRings(mem)[cpu]!;
    this.invlpgbPort = new InvlpgbPort(mem, cpu);
    this.storeBuffer = new StoreBuffer(mem.views.cpu);
    this.invPend = mem.views.invlpgbPending;
    this.invPendAt = this.invlpgbPort.pendingAt;
    this.invApply = (tag, vpn, pages, flags) => this.applyInvlpgbRequest(tag, vpn, pages, flags);
    threadMmus.add(new WeakRef(this));
  }

  get cr3Root(): number {
    return this.root;
  }

  get cr3Pcid(): number {
    return this.pcid;
  }

  /** The task and op the CPU runs, for violation records. */
  setOracleContext(task: number, op: number): void {
    this.walker.task = task;
    this.walker.op = op;
  }

  // ---- the hot path ------------------------------------------------------------

  /**
   * Translates va for an access. Returns the 4 KiB pfn, or a FAULT_* code (< 0).
   *
   * Kept under V8's inlining budget (460 bytecodes) so that callers inline
   * it: a call would box the va double on every access. Huge entries, a
   * miss, a rights fault and the first write through a clean entry leave
   * through accessSlow; a 4 KiB hit runs: INVLPGB-pending check, set lookup,
   * rights, the oracle's generation compare, one local counter bump.
   */
  access(va: number, write: boolean, user: boolean): number {
    // INVLPGB pending for this CPU? A plain load, not Atomics.load: V8 11
    // calls a builtin for Atomics.load (~5 ns, as much as the rest of a
    // hit), an x86 load is coherent anyway, and TurboFan does not hoist
    // typed-array loads out of loops (test/hw/invlpgb-hot-loop.test.ts
    // checks a hot loop still sees a broadcast). applyInvlpgb() re-reads
    // the word with Atomics before it acts.
    if (this.invPend[this.invPendAt] !== 0 && this.invCountdown-- <= 0) this.applyInvlpgb();
    const vpnLo = (va / DIV_4K) | 0;
    const e = this.tlb.lookup4k(vpnLo, (va / DIV_VPNHI) | 0, user ? this.upcid : this.pcid);
    if (e < 0) return this.accessSlow(va, write, user, -1);
    const t = this.t4;
    const meta = t[e + TLB_META];
    // One test for both rights: US when user, and RW + D (SDM §4.8: the
    // first write through a clean entry goes back to the PTE to set D).
    const need = (user ? TLB_US : 0) | (write ? TLB_RW | TLB_DIRTY : 0);
    if ((meta & need) !== need) return this.accessSlow(va, write, user, e);
    const pfn = t[e + TLB_PFN];
    // The inline oracle (§9.1): the frame's generation must still be the
    // one it had when this entry was filled.
    const fillGen = t[e + TLB_FILL_GEN];
    const gen = this.frame[pfn * FRAME_STRIDE + FR_CONTENT_GEN];
    if (fillGen !== gen) this.staleHit(va, pfn, fillGen, gen);
    if ((meta & TLB_SPEC) !== 0) t[e + TLB_META] = meta & ~TLB_SPEC;
    // Counted here, published to the shared accesses/tlbHits counters by
    // publishCounters() (every slow path, and whoever reads them).
    this.pendingHits++;
    // Isolation oracle (ASI): one compare unless the PCID is a nonsensitive one.
    if (this.pcid >= ASI_PCID_MIN && va >= KERNEL_HALF) this.isolation(va, pfn, ISOLATION_HIT);
    return pfn;
  }

  /**
   * The rest of access(): e4k is the 4 KiB entry that hit but needs a fault
   * or a D-bit walk, or -1 when the 4 KiB array missed (then the huge array
   * is probed, then the walk). Counts its access in the shared counters.
   */
  private accessSlow(va: number, write: boolean, user: boolean, e4k: number): number {
    this.publishCounters();
    this.counters[this.cbase + C_ACCESSES] += 1;
    let t = this.t4;
    let e = e4k;
    const pcid = user ? this.upcid : this.pcid;
    if (e < 0) {
      t = this.th;
      e = this.tlb.lookupHuge(va, pcid);
      if (e < 0) return this.miss(va, write, user, pcid);
    }
    const meta = t[e + TLB_META];
    // Every access is exactly one hit or one miss (accesses = tlbHits +
    // tlbMisses): a permission fault on an entry the lookup found is a hit
    // (the TLB answered; the answer was "no"), a write through a clean
    // entry goes back to the page table and is a miss.
    if (user && (meta & TLB_US) === 0) return this.hitFault(va, FAULT_USER_SUPERVISOR, pcid);
    if (write) {
      if ((meta & TLB_RW) === 0) return this.hitFault(va, FAULT_WRITE_PROTECT, pcid);
      // The first write through a clean entry goes back to the PTE to set D
      // (SDM §4.8), as hardware must before any write lands.
      if ((meta & TLB_DIRTY) === 0) return this.miss(va, write, user, pcid);
    }
    const base = t[e + TLB_PFN];
    const fillGen = t[e + TLB_FILL_GEN];
    const gen = this.frame[base * FRAME_STRIDE + FR_CONTENT_GEN];
    if (fillGen !== gen) this.staleHit(va, base, fillGen, gen);
    if ((meta & TLB_SPEC) !== 0) t[e + TLB_META] = meta & ~TLB_SPEC;
    this.counters[this.cbase + C_TLB_HITS] += 1;
    const size = meta & TLB_SIZE_MASK;
    const vpnLo = (va / DIV_4K) | 0;
    const pfn = size === 0 ? base : base + (size === SIZE_2M_META ? vpnLo & 0x1ff : vpnLo & 0x3ffff);
    // Isolation oracle: one compare unless the PCID is a nonsensitive one.
    if (this.pcid >= ASI_PCID_MIN && va >= KERNEL_HALF) this.isolation(va, pfn, ISOLATION_HIT);
    return pfn;
  }

  /** The isolation oracle's slow half (src/check/isolation.ts). */
  private isolation(va: number, pfn: number, how: number): void {
    checkIsolation(this.views, this.cpu, va, pfn, how, this.walker.task, this.walker.op);
  }

  /**
   * Adds the 4 KiB hits access() counted locally to the shared accesses and
   * tlbHits counters. Every slow path calls it; so must anything that reads
   * those two counters of a CPU whose thread it is (the CPU worker at the
   * end of its run, tests, selfcheck): see publishThreadMmuCounters().
   */
  publishCounters(): void {
    const n = this.pendingHits;
    if (n === 0) return;
    this.pendingHits = 0;
    const c = this.counters;
    c[this.cbase + C_ACCESSES] += n;
    c[this.cbase + C_TLB_HITS] += n;
  }

  // ---- slow paths ------------------------------------------------------------------

  /**
   * A direct-map window (the ASI nonsensitive physmap): [lo, hi) is mapped
   * with 2 MiB leaves over frames that are allocated and freed one by one,
   * so the first frame's generation says nothing about the entry (Linux
   * does not flush its direct map when a page is freed either). A hit there
   * whose generation moved goes to `check` (va, first pfn of the leaf)
   * instead of counting as use after free; the window's own rule (the
   * block is still nonsensitive) is the kernel's oracle to apply.
   */
  setDirectMapWindow(lo: number, hi: number, check: ((va: number, pfn: number) => void) | null): void {
    this.dmLo = lo;
    this.dmHi = hi;
    this.dmCheck = check;
  }

  private dmLo = 0;
  private dmHi = 0;
  private dmCheck: ((va: number, pfn: number) => void) | null = null;

  /** Oracle §9.1: the frame was freed (and maybe reused) since this entry was filled. */
  private staleHit(va: number, pfn: number, fillGen: number, gen: number): void {
    // A permanent mapping (the direct map) has no generation to compare.
    if (fillGen === TLB_GEN_PERMANENT) return;
    if (va >= this.dmLo && va < this.dmHi) {
      if (this.dmCheck !== null) this.dmCheck(va, pfn);
      return;
    }
    reportViolation(this.views, this.cpu, V_STALE_TLB, va, pfn, fillGen, gen, this.walker.task, this.walker.op);
  }

  /** A permission fault on a TLB hit: counted as a hit, then faulted (see access). */
  private hitFault(va: number, code: number, pcid: number): number {
    this.counters[this.cbase + C_TLB_HITS] += 1;
    return this.fault(va, code, pcid);
  }

  private miss(va: number, write: boolean, user: boolean, pcid: number): number {
    const c = this.counters;
    c[this.cbase + C_TLB_MISSES] += 1;
    c[this.cbase + C_WALKS] += 1;
    const pfn = this.walker.walk(this.root, pcid, va, write, user);
    // One event per miss: a walk that fills is told by its tlb-fill (same
    // va, the leaf's level and pfn); only a walk that fails gets its own.
    if (pfn < 0) {
      this.trace.emit(EV_WALK, va % VA_SPLIT | 0, ((va / VA_SPLIT) | 0) | (write ? 1 << 16 : 0) | (user ? 1 << 17 : 0), pfn);
      return this.fault(va, pfn, pcid);
    }
    this.fillFromWalk(va, 0, pcid);
    return pfn;
  }

  private fillFromWalk(va: number, extra: number, pcid: number): void {
    const w = this.walker;
    const lo = w.leafLo;
    const flags = extra
      | ((lo & PTE_G) !== 0 ? TLB_GLOBAL : 0)
      | ((lo & PTE_D) !== 0 ? TLB_DIRTY : 0)
      | ((w.rights & PTE_RW) !== 0 ? TLB_RW : 0)
      | ((w.rights & PTE_US) !== 0 ? TLB_US : 0)
      | (w.nx !== 0 ? TLB_NX : 0);
    const gen = (lo & PTE_NOGEN) !== 0 ? TLB_GEN_PERMANENT : this.frame[w.leafPfn * FRAME_STRIDE + FR_CONTENT_GEN];
    this.tlb.fill(va, w.level - 1, pcid, flags, w.leafPfn, gen);
    this.trace.emit(EV_TLB_FILL, va % VA_SPLIT | 0, ((va / VA_SPLIT) | 0) | (w.level << 16) | ((extra & TLB_SPEC) !== 0 ? 1 << 20 : 0), w.leafPfn);
    if (this.pcid >= ASI_PCID_MIN && va >= KERNEL_HALF) {
      const pfn = w.leafPfn + Math.floor((va % LEVEL_BYTES[w.level]!) / DIV_4K);
      this.isolation(va, pfn, (extra & TLB_SPEC) !== 0 ? ISOLATION_SPEC_FILL : ISOLATION_FILL);
    }
  }

  /**
   * A page fault also invalidates the TLB and paging-structure-cache entries
   * for the faulting address (SDM §4.10.4.1). That is why the kernel need not
   * flush after it upgrades a PTE's rights: the fault that made it do so
   * already dropped the old entry.
   */
  private fault(va: number, code: number, pcid: number): number {
    this.counters[this.cbase + C_PAGE_FAULTS] += 1;
    this.trace.emit(EV_FAULT, va % VA_SPLIT | 0, (va / VA_SPLIT) | 0, code);
    this.tlb.dropVa(va, pcid, true);
    this.psc.invalidateAddr(pcid, (va / DIV_2M) | 0);
    return code;
  }

  /**
   * A speculative fill: the CPU walks and caches a present translation that no
   * instruction touched (SEMANTICS §1). Non-present entries are never cached,
   * and nothing faults. Returns the pfn or the FAULT_* code of the walk.
   */
  specFill(va: number): number {
    const pfn = this.walker.walk(this.root, this.pcid, va, false, false);
    if (pfn < 0) return pfn;
    this.counters[this.cbase + C_SPEC_FILLS] += 1;
    this.fillFromWalk(va, TLB_SPEC, this.pcid);
    return pfn;
  }

  // ---- data ------------------------------------------------------------------------

  /** Reads the content word (domain << 16 | secret, unsigned) at va, or a FAULT_* code. */
  read(va: number, user = false): number {
    const pfn = this.access(va, false, user);
    return pfn < 0 ? pfn : readFrame(this.frame, pfn);
  }

  /** Writes the frame at va. Returns its pfn, or a FAULT_* code. */
  write(va: number, domain: number, secret: number, user = false): number {
    const pfn = this.access(va, true, user);
    if (pfn >= 0) writeFrame(this.frame, pfn, domain, secret);
    return pfn;
  }

  // ---- INVLPGB (target side) ------------------------------------------------------

  /** Installs the tag-to-PCIDs map of this CPU (the kernel's ASID table); null restores tag = PCID. */
  setInvlpgbResolver(fn: ((tag: number, out: Int32Array) => number) | null): void {
    this.invResolve = fn ?? defaultResolve;
  }

  /**
   * Applies every INVLPGB request other CPUs posted for this one (before the
   * next access, and at IPI poll points). Returns how many it applied.
   */
  applyInvlpgb(): number {
    if (Atomics.load(this.invPend, this.invPendAt) === 0) return 0;
    this.invCountdown = this.invlpgbDelay;
    return this.invlpgbPort.drain(this.invApply);
  }

  private applyInvlpgbRequest(tag: number, vpn: number, pages: number, flags: number): void {
    if ((flags & INVLPGB_ANY_PCID) !== 0) {
      this.applyInvlpgbAnyPcid(vpn, pages, flags);
      return;
    }
    const out = this.invPcids;
    let n: number;
    if ((flags & INVLPGB_PCID) !== 0) {
      out[0] = tag;
      n = 1;
      if ((flags & INVLPGB_USER_PCID) !== 0) out[n++] = tag | PTI_USER_PCID_BIT;
    } else {
      n = this.invResolve(tag, out);
    }
    const step = (flags & INVLPGB_STRIDE_2M) !== 0 ? 512 : 1;
    for (let i = 0; i < n; i++) {
      const pcid = out[i]!;
      this.trace.emit(EV_INVPCID, 0x10 | flags, pcid, pages);
      if ((flags & INVLPGB_ALL) !== 0) {
        this.tlb.dropPcid(pcid);
      } else {
        for (let p = 0; p < pages; p++) this.tlb.dropVa((vpn + p * step) * DIV_4K, pcid, false);
      }
      this.psc.invalidatePcid(pcid);
    }
  }

  /** The issuing CPU's share of its own INVLPGB (the instruction invalidates locally too); tag as posted. */
  invlpgbSelf(vpn: number, pages: number, flags: number, tag = 0): void {
    this.applyInvlpgbRequest(tag, vpn, pages, flags);
  }

  /** A request without a PCID: every PCID's entries (and globals, with INVLPGB_INCLUDE_GLOBAL). */
  private applyInvlpgbAnyPcid(vpn: number, pages: number, flags: number): void {
    const globals = (flags & INVLPGB_INCLUDE_GLOBAL) !== 0;
    this.trace.emit(EV_INVPCID, 0x10 | flags, -1, pages);
    if ((flags & INVLPGB_ALL) !== 0) {
      if (globals) this.tlb.dropAll();
      else this.tlb.dropAllNonGlobal();
    } else {
      const step = (flags & INVLPGB_STRIDE_2M) !== 0 ? 512 : 1;
      for (let p = 0; p < pages; p++) this.tlb.dropVaAllPcids((vpn + p * step) * DIV_4K, globals);
    }
    this.psc.invalidateAll();
  }

  // ---- TLB-management instructions --------------------------------------------------

  /** INVLPG: va in the current PCID, global entries for va, and the current PCID's PSC. */
  invlpg(va: number): void {
    this.storeBuffer.serialize();
    this.counters[this.cbase + C_INVLPG] += 1;
    this.trace.emit(EV_INVLPG, va % VA_SPLIT | 0, (va / VA_SPLIT) | 0, 0);
    this.tlb.dropVa(va, this.pcid, true);
    this.psc.invalidatePcid(this.pcid);
  }

  /**
   * INVPCID. Type 0 (one address, non-global, in pcid) and 1 (all non-global
   * of pcid) keep globals and drop pcid's PSC entries; 2 drops everything; 3
   * everything but globals. va is used by type 0 only.
   */
  invpcid(type: number, pcid: number, va = 0): void {
    this.storeBuffer.serialize();
    this.counters[this.cbase + C_INVPCID] += 1;
    this.trace.emit(EV_INVPCID, type, pcid, 0);
    switch (type) {
      case INVPCID_ADDR:
        this.tlb.dropVa(va, pcid, false);
        this.psc.invalidatePcid(pcid);
        return;
      case INVPCID_SINGLE_CTX:
        this.tlb.dropPcid(pcid);
        this.psc.invalidatePcid(pcid);
        return;
      case INVPCID_ALL_INCL_GLOBAL:
        this.tlb.dropAll();
        this.psc.invalidateAll();
        return;
      case INVPCID_ALL_NON_GLOBAL:
        this.tlb.dropAllNonGlobal();
        this.psc.invalidateAll();
        return;
      default:
        throw new RangeError(`INVPCID type ${type} is invalid: use 0..3`);
    }
  }

  /**
   * MOV to CR3 (see cr3.ts). Serializing: the store buffer drains first, so
   * switch_mm's plain stores are visible before any translation of the new
   * address space can be cached.
   */
  writeCr3(root: number, pcid: number, noflush: boolean): void {
    this.storeBuffer.serialize();
    this.trace.emit(EV_CR3, root, pcid, noflush ? 1 : 0);
    loadCr3(this.views, this.tlb, this.psc, root, pcid, noflush);
    this.root = root;
    this.pcid = pcid;
    this.upcid = this.ptiUser ? pcid | PTI_USER_PCID_BIT : pcid;
  }

  /**
   * PTI: tag user-mode accesses with the current PCID's user PCID (on), or
   * with the PCID itself (off). The kernel's entry code switches CR3
   * between the two on every user/kernel transition; here user accesses
   * carry the user tag and everything else the kernel one, which is the
   * same thing for the TLB. Both tables are the same (a simplification:
   * PTI's user PGD differs only in the kernel half, which user mode cannot
   * reach anyway).
   */
  setPtiUser(on: boolean): void {
    this.ptiUser = on;
    this.upcid = on ? this.pcid | PTI_USER_PCID_BIT : this.pcid;
  }

  /** The PCID user-mode accesses use now (the current PCID without PTI). */
  get userPcid(): number {
    return this.upcid;
  }

  /**
   * SWITCH_TO_USER_CR3 without NOFLUSH: the user PCID's non-global entries
   * and paging-structure caches go (a CR3 write, counted as one).
   */
  flushUserPcid(): void {
    this.storeBuffer.serialize();
    this.counters[this.cbase + C.cr3Writes] += 1;
    this.trace.emit(EV_CR3, this.root, this.upcid, 0);
    this.tlb.dropPcid(this.upcid);
    this.psc.invalidatePcid(this.upcid);
  }

  /** Everything, globals included: the CR4.PGE off/on toggle (native_flush_tlb_global without INVPCID). */
  flushTlbAll(): void {
    this.trace.emit(EV_FLUSH_ALL, 0, 0, 0);
    this.tlb.dropAll();
    this.psc.invalidateAll();
  }
}

/** This thread's MMUs (weakly: a test's machines come and go), for publishThreadMmuCounters. */
const threadMmus = new Set<WeakRef<Mmu>>();

/**
 * Publishes the locally counted hits of every MMU this thread made (see
 * Mmu.publishCounters). The CPU worker calls it when its run ends, before
 * the main thread reads the counters.
 */
export function publishThreadMmuCounters(): void {
  for (const ref of threadMmus) {
    const m = ref.deref();
    if (m === undefined) threadMmus.delete(ref);
    else m.publishCounters();
  }
}

function defaultResolve(tag: number, out: Int32Array): number {
  out[0] = tag;
  return 1;
}
