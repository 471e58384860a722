// The page walker: translates a va through the 4-level tables from a root
// (the PGD pfn in CR3), as the Intel SDM vol. 3A §4.5 describes 4-level paging:
// PML4E -> PDPTE (PS: 1 GiB leaf) -> PDE (PS: 2 MiB leaf) -> PTE.
//
// - Rights are combined over the levels: RW and US ANDed, NX ORed (CR0.WP=1,
//   so a supervisor write also needs RW). They are checked at the leaf.
// - A is set in every entry used, D in the leaf on a write, each with a
//   compare-exchange on the lo word: hardware does a locked RMW, and must not
//   set bits in an entry the kernel just cleared (an Atomics.or there would turn
//   a none entry into garbage), so a lost race restarts the walk.
// - A PDE that points to a page table is cached in the paging-structure cache
//   (psc.ts); a walk that finds (pcid, va >> 21) there starts at level 1.
// - Walking into a frame that is not a page table (a stale PSC pointer, or a
//   freed table still linked) is oracle violation §9.4; so is a PSC pointer to
//   a table frame freed and reused since the fill (its contentGen moved).
//
// Results never allocate: walk() returns the 4 KiB pfn or a FAULT_* code, and
// leaves the details in this object's fields (one Walker per CPU).

import {
  FRAME_STATE_MASK as FRAME_STATE_MASK_, FS_PAGETABLE as FS_PAGETABLE_, PSC_NX as PSC_NX_, PSC_RW as PSC_RW_, PSC_US as PSC_US_, PTE_A as PTE_A_,
  PTE_D as PTE_D_, PTE_HI_NX as PTE_HI_NX_, PTE_P as PTE_P_, PTE_PS as PTE_PS_, PTE_RW as PTE_RW_, PTE_US as PTE_US_, PT_WORDS as PT_WORDS_,
} from '../../native-layout/bits.js';
import { C as C_ } from '../../native-layout/counters.js';
import {
  COUNTERS_STRIDE as COUNTERS_STRIDE_, FRAME_STRIDE as FRAME_STRIDE_, FR_CONTENT_GEN as FR_CONTENT_GEN_, FR_FLAGS as FR_FLAGS_,
  FR_PRIVATE as FR_PRIVATE_, PT_SEQ_DONE as PT_SEQ_DONE_, PT_SEQ_STARTED as PT_SEQ_STARTED_, PT_SEQ_STRIDE as PT_SEQ_STRIDE_,
} from '../../native-layout/fields.js';
import type { MachineMemory, MachineViews } from '../../native-layout/memory.js';
import { V_STALE_PSC, V_WALK_NON_PAGETABLE, reportViolation } from '../check/oracle.js';
import {
  FAULT_BAD_TABLE, FAULT_NOT_PRESENT, FAULT_RESERVED, FAULT_USER_SUPERVISOR, FAULT_WRITE_PROTECT,
} from './fault.js';
import type { Psc } from './psc.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const FRAME_STATE_MASK = FRAME_STATE_MASK_, FS_PAGETABLE = FS_PAGETABLE_, PSC_NX = PSC_NX_, PSC_RW = PSC_RW_, PSC_US = PSC_US_, PTE_A = PTE_A_,
  PTE_D = PTE_D_, PTE_HI_NX = PTE_HI_NX_, PTE_P = PTE_P_, PTE_PS = PTE_PS_, PTE_RW = PTE_RW_, PTE_US = PTE_US_, PT_WORDS = PT_WORDS_, C = C_,
  COUNTERS_STRIDE = COUNTERS_STRIDE_, FRAME_STRIDE = FRAME_STRIDE_, FR_CONTENT_GEN = FR_CONTENT_GEN_, FR_FLAGS = FR_FLAGS_,
  FR_PRIVATE = FR_PRIVATE_, PT_SEQ_DONE = PT_SEQ_DONE_, PT_SEQ_STARTED = PT_SEQ_STARTED_, PT_SEQ_STRIDE = PT_SEQ_STRIDE_;

const PFN_LO_SPAN = 2 ** 20;
const DIV_4K = 2 ** 12;
const DIV_2M = 2 ** 21;
const C_WALK_LEVELS = C.walkLevels;
const C_PSC_HITS = C.pscHits;

export class Walker {
  // ---- scratch: the last walk -------------------------------------------------
  /** Level of the leaf (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB), or of the fault. */
  level = 0;
  /** Leaf entry words after the A/D update. */
  leafLo = 0;
  leafHi = 0;
  /** First frame the leaf maps. */
  leafPfn = 0;
  /** Combined rights: PTE_RW | PTE_US bits that every level granted. */
  rights = 0;
  /** Non-zero if some level had NX. */
  nx = 0;
  /** Entries read by the last walk. */
  levels = 0;
  /** The last walk started from a cached PDE pointer. */
  pscHit = false;

  /** Oracle context: the task and op the CPU is running (set by the engine). */
  task = -1;
  op = 0;

  private readonly cpu: number;
  private readonly views: MachineViews;
  private readonly frame: Int32Array;
  private readonly pt: Int32Array;
  private readonly seq: Int32Array;
  private readonly counters: Float64Array;
  private readonly cbase: number;
  private readonly frames: number;
  private readonly ptPages: number;
  private readonly psc: Psc;
  /** Bytes covered by one entry per level, index = level. */
  private readonly div: Float64Array;

  constructor(mem: MachineMemory, cpu: number, psc: Psc) {
    this.cpu = cpu;
    this.views = mem.views;
    this.frame = mem.views.frame;
    this.pt = mem.views.ptStore;
    this.seq = mem.views.ptSeq;
    this.counters = mem.views.counters;
    this.cbase = cpu * COUNTERS_STRIDE;
    this.frames = mem.layout.frames;
    this.ptPages = mem.layout.shape.ptPages;
    this.psc = psc;
    this.div = new Float64Array([0, 2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39]);
  }

  /**
   * Translates va for an access (write, user). Returns the pfn of the 4 KiB
   * frame va lands in, or a FAULT_* code (then `level` is where it stopped).
   * A speculative walk is walk(root, pcid, va, false, false): a supervisor
   * read never fails on rights.
   */
  walk(root: number, pcid: number, va: number, write: boolean, user: boolean): number {
    const frame = this.frame;
    const pt = this.pt;
    const seq = this.seq;
    const psc = this.psc;
    const tag = (va / DIV_2M) | 0;
    let levels = 0;
    restart: for (;;) {
      let table = root;
      let level = 4;
      let rights = PTE_RW | PTE_US;
      let nx = 0;
      let viaPsc = false;
      let pscGen = 0;
      const pe = psc.lookup(pcid, tag);
      if (pe >= 0) {
        const m = psc.meta(pe);
        table = psc.ptPfn(pe);
        level = 1;
        rights = ((m & PSC_RW) !== 0 ? PTE_RW : 0) | ((m & PSC_US) !== 0 ? PTE_US : 0);
        nx = m & PSC_NX;
        viaPsc = true;
        pscGen = psc.fillGen(pe);
        this.counters[this.cbase + C_PSC_HITS] += 1;
      }
      this.pscHit = viaPsc;
      for (;;) {
        const fb = table * FRAME_STRIDE;
        const slot = table >= 0 && table < this.frames ? frame[fb + FR_PRIVATE] : -1;
        if (slot < 0 || slot >= this.ptPages || (frame[fb + FR_FLAGS] & FRAME_STATE_MASK) !== FS_PAGETABLE) {
          this.level = level;
          this.finish(levels);
          reportViolation(this.views, this.cpu, V_WALK_NON_PAGETABLE, va, table, viaPsc ? pscGen : -1,
            table >= 0 && table < this.frames ? frame[fb + FR_CONTENT_GEN] : -1, this.task, this.op);
          return FAULT_BAD_TABLE;
        }
        if (viaPsc) {
          // Only the first table of a PSC walk came from the cache.
          viaPsc = false;
          const gen = frame[fb + FR_CONTENT_GEN];
          if (gen !== pscGen) reportViolation(this.views, this.cpu, V_STALE_PSC, va, table, pscGen, gen, this.task, this.op);
        }
        const w = slot * PT_WORDS + ((va / this.div[level]) & 511) * 2;
        // See ptstore.ts: a kernel write that overlapped the two reads could
        // pair one entry's lo with another's hi; the table's counters show it.
        // Plain loads, not Atomics.load (a builtin call in V8 11, ~5 ns:
        // four per level were half the cost of a miss). The order still
        // holds: x86 does not reorder loads with loads, and V8 keeps
        // typed-array loads in program order on its effect chain, so the
        // table's two counters bracket the entry's two words. A kernel write
        // that overlapped them moved `started` past `done`: walk again.
        // test/hw/entry-protocol.test.ts races a writer against this and
        // fails (a torn pfn) when the check is taken out.
        const sq = slot * PT_SEQ_STRIDE;
        const done = seq[sq + PT_SEQ_DONE]!;
        let lo = pt[w]!;
        const hi = pt[w + 1]!;
        if (seq[sq + PT_SEQ_STARTED] !== done) continue restart;
        levels++;
        if ((lo & PTE_P) === 0) {
          this.level = level;
          this.finish(levels);
          return FAULT_NOT_PRESENT;
        }
        rights &= lo;
        nx |= hi & PTE_HI_NX;
        const leaf = level === 1 || (lo & PTE_PS) !== 0;
        if (leaf && level === 4) {
          this.level = level;
          this.finish(levels);
          return FAULT_RESERVED;
        }
        if (!leaf) {
          if ((lo & PTE_A) === 0 && Atomics.compareExchange(pt, w, lo, lo | PTE_A) !== lo) continue restart;
          const next = (lo >>> 12) + (hi & 0xfffff) * PFN_LO_SPAN;
          if (level === 2) {
            const pscRights = ((rights & PTE_RW) !== 0 ? PSC_RW : 0) | ((rights & PTE_US) !== 0 ? PSC_US : 0)
              | (nx !== 0 ? PSC_NX : 0);
            const gen = next < this.frames ? frame[next * FRAME_STRIDE + FR_CONTENT_GEN] : -1;
            psc.fill(pcid, tag, next, pscRights, gen);
          }
          table = next;
          level--;
          continue;
        }
        this.level = level;
        if (write && (rights & PTE_RW) === 0) {
          this.finish(levels);
          return FAULT_WRITE_PROTECT;
        }
        if (user && (rights & PTE_US) === 0) {
          this.finish(levels);
          return FAULT_USER_SUPERVISOR;
        }
        const want = lo | PTE_A | (write ? PTE_D : 0);
        if (want !== lo) {
          if (Atomics.compareExchange(pt, w, lo, want) !== lo) continue restart;
          lo = want;
        }
        const base = (lo >>> 12) + (hi & 0xfffff) * PFN_LO_SPAN;
        this.leafLo = lo;
        this.leafHi = hi;
        this.leafPfn = base;
        this.rights = rights;
        this.nx = nx;
        this.finish(levels);
        if (level === 1) return base;
        const vpn = (va / DIV_4K) | 0;
        return base + (level === 2 ? vpn & 0x1ff : vpn & 0x3ffff);
      }
    }
  }

  private finish(levels: number): void {
    this.levels = levels;
    this.counters[this.cbase + C_WALK_LEVELS] += levels;
  }
}
