// flip-storm: allocations that force ASI sensitivity flips both ways, on
// every CPU at once, with compaction (issue 7 item 8; SEMANTICS.md §3
// "Sensitivity flip").
//
// The machine boots with ASI on: every pageblock starts sensitive and the
// nonsensitive physmap is empty. Each CPU keeps a pool of allocations near
// its share of `holdPercent` of memory and, op by op, frees one or makes a
// new one; which sensitivity it asks for swings between mostly
// nonsensitive and mostly sensitive every `period` ops, so each lane in
// turn needs most of memory and whole pageblocks change side all the time.
//
// - Nonsensitive allocations (GFP_KERNEL) are written and read back through
//   the nonsensitive physmap (asiPhysmapVa): the CPU caches global 2 MiB
//   entries of the blocks its data lives in, exactly the entries a flip to
//   sensitive must shoot down on every CPU.
// - Sensitive allocations (GFP_KERNEL | __GFP_SENSITIVE: kernel memory
//   holding secrets, unmovable like the nonsensitive ones, so the two lanes
//   compete for the same migratetype's lists) are written and read back
//   through the ordinary direct map (not modelled through the MMU: its
//   translations never change here).
// - The hardware speculates (`specPercent`): a walk of a random physmap
//   address caches whatever block is mapped there, owned by whoever.
// - Page-cache pages (`cachePercent`): read() of file pages that stay
//   cached, unmapped, and truncation of some; they pin sensitive blocks
//   until compaction moves them (src/kernel/asi/compact.ts).
//
// Asserts: every read returns what this CPU wrote (or, for a file page,
// the file's content); a nonsensitive allocation is reachable through the
// physmap. The oracle adds (flip-ops.ts): zeroed before mapped; no CPU
// caches a physmap entry of a block at the moment it becomes sensitive;
// mapping = freetype at every allocation and free; and the end check.
//
// - Atomic allocations (`atomicPercent`): GFP_ATOMIC with interrupts off,
//   as from an interrupt handler or under a spin_lock_irqsave. They must
//   never flip (the flip waits for every CPU's ack): they take what the
//   lists have or fail. lockdep (src/check/lockdep.ts) watches the locks
//   on the way: pcp -> zone, no shootdown under the zone lock, no flip
//   entered with interrupts off.
// - Every `drainEvery` ops a CPU drains its own pcp lists, as vmstat's
//   periodic refresh_cpu_vm_stats() -> drain_zone_pages() does: the pcp
//   lock taken as a blocking lock, then the zone lock inside it.
//
// Options: holdPercent (70), period (300 ops), bigPercent (2: chance an
// allocation is a whole pageblock), specPercent (30), cachePercent (10),
// readPercent (50: chance per op of reading back one held allocation),
// atomicPercent (10: chance an allocation is an atomic one), drainEvery
// (500 ops; 0 never).

import { C } from '../../../native-layout/counters.js';
import { COUNTERS_STRIDE } from '../../../native-layout/fields.js';
import { PAGEBLOCK_ORDER } from '../../../native-layout/shape.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import { V_ASI_MAPPING, reportViolation } from '../../check/oracle.js';
import { readFrame, writeFrame } from '../../hw/frames.js';
import { asiPhysmapVa } from '../../kernel/asi/physmap.js';
import { bootMachine, cpuBringup } from '../../kernel/boot.js';
import { parseVariant } from '../../kernel/variant.js';
import { applyFlushPolicy, resolveDesign } from '../../kernel/design/apply.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { deleteFromPageCache, filemapGetPage, findFilePage } from '../../kernel/mm/filemap.js';
import { putPage } from '../../kernel/mm/page-ref.js';
import { GFP_ATOMIC, GFP_KERNEL, __GFP_SENSITIVE } from '../../kernel/page_alloc/gfp.js';
import { PageAllocator } from '../../kernel/page_alloc/index.js';
import { type SmpCtx, localIrqRestore, localIrqSave, makeSmpCtx, pollIpis } from '../../kernel/smp.js';
import { FILE_MAX, FILE_NR_PAGES } from '../../../native-layout/fields.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import { Xorshift32 } from '../prng.js';
import { contentOf, readbackViolation } from './common.js';
import { intOption } from './options.js';

const NAME = 'flip-storm';
/** Content domain of file pages (no process owns them). */
const FILE_DOMAIN = 0x7f;
/** Pages of a block a CPU writes and checks (the first ones). */
const CHECK_PAGES = 8;

interface FlipStormOptions {
  readonly holdPercent: number;
  readonly period: number;
  readonly bigPercent: number;
  readonly specPercent: number;
  readonly cachePercent: number;
  readonly readPercent: number;
  readonly atomicPercent: number;
  readonly drainEvery: number;
}

const OPTION_NAMES = ['holdPercent', 'period', 'bigPercent', 'specPercent', 'cachePercent', 'readPercent', 'atomicPercent', 'drainEvery'];

function options(o: ProgramCtx['options']): FlipStormOptions {
  return {
    holdPercent: intOption(NAME, o, 'holdPercent', 70, 1, 95),
    period: intOption(NAME, o, 'period', 300, 1, 1_000_000),
    bigPercent: intOption(NAME, o, 'bigPercent', 2, 0, 100),
    specPercent: intOption(NAME, o, 'specPercent', 30, 0, 100),
    cachePercent: intOption(NAME, o, 'cachePercent', 10, 0, 100),
    readPercent: intOption(NAME, o, 'readPercent', 50, 0, 100),
    atomicPercent: intOption(NAME, o, 'atomicPercent', 10, 0, 100),
    drainEvery: intOption(NAME, o, 'drainEvery', 500, 0, 1_000_000),
  };
}

/** The file content word of (file, index) once this scenario wrote it. */
function fileTag(file: number, index: number): number {
  return contentOf(FILE_DOMAIN, (file * FILE_NR_PAGES + index + 1) & 0xffff);
}

class FlipStormCpu implements CpuProgram {
  private readonly k: KernelCtx;
  private readonly rng: Xorshift32;
  private readonly o: FlipStormOptions;
  private readonly budget: number;
  private readonly cap: number;
  // The pool: parallel arrays, swap-remove.
  private readonly pfn: Int32Array;
  private readonly order: Int32Array;
  private readonly ns: Uint8Array;
  private readonly want: Uint32Array;
  private n = 0;
  private heldPages = 0;
  private op = 0;
  readonly poll: () => void;
  private readonly stats = {
    allocNonsensitive: 0, allocSensitive: 0, allocFailed: 0, frees: 0, reads: 0, specWalks: 0,
    cacheReads: 0, truncates: 0, allocAtomic: 0,
  };
  private readonly smp: SmpCtx;

  constructor(ctx: ProgramCtx) {
    this.o = options(ctx.options);
    this.rng = new Xorshift32(ctx.seed, ctx.cpu);
    this.k = cpuBringup(ctx.mem, ctx.smp);
    // --variant invlpgb: the flip's kernel-range shootdown is one broadcast + TLBSYNC.
    applyFlushPolicy(this.k, resolveDesign(parseVariant(String(ctx.options['variant'] ?? 'asi-off'))).flush);
    const frames = ctx.mem.layout.frames;
    this.budget = Math.floor((frames * this.o.holdPercent) / 100 / ctx.cpus);
    this.cap = Math.max(16, this.budget);
    this.pfn = new Int32Array(this.cap);
    this.order = new Int32Array(this.cap);
    this.ns = new Uint8Array(this.cap);
    this.want = new Uint32Array(this.cap);
    const smp = ctx.smp;
    this.smp = smp;
    this.poll = () => pollIpis(smp);
  }

  step(): void {
    const k = this.k;
    const rng = this.rng;
    const o = this.o;
    this.op++;
    k.mmu.setOracleContext(-1, this.op);
    const nsPercent = Math.floor(this.op / o.period) % 2 === 0 ? 85 : 15;
    if (this.n > 0 && (this.heldPages >= this.budget || this.n >= this.cap || rng.below(100) < 45)) {
      this.freeOne(rng.below(this.n));
    } else {
      this.allocOne(rng.below(100) < nsPercent);
    }
    if (this.n > 0 && rng.below(100) < o.readPercent) this.check(rng.below(this.n));
    if (rng.below(100) < o.specPercent) {
      // A speculative walk of some physmap address: present blocks are cached.
      k.mmu.specFill(asiPhysmapVa(rng.below(k.env.frames)));
      this.stats.specWalks++;
    }
    if (rng.below(100) < o.cachePercent) this.fileOp();
    if (o.drainEvery > 0 && this.op % o.drainEvery === 0 && k.alloc instanceof PageAllocator) k.alloc.drainLocalPages(k.cpu);
  }

  private allocOne(ns: boolean): void {
    const k = this.k;
    const rng = this.rng;
    const order = rng.below(100) < this.o.bigPercent ? PAGEBLOCK_ORDER : rng.below(4);
    const atomic = rng.below(100) < this.o.atomicPercent;
    let pfn: number;
    if (atomic) {
      // From "interrupt context": interrupts off around a non-blocking request.
      const flags = localIrqSave(this.smp);
      pfn = k.alloc.allocPages(k.cpu, order, ns ? GFP_ATOMIC : GFP_ATOMIC | __GFP_SENSITIVE);
      localIrqRestore(this.smp, flags);
      if (pfn >= 0) this.stats.allocAtomic++;
    } else {
      pfn = k.alloc.allocPages(k.cpu, order, ns ? GFP_KERNEL : GFP_KERNEL | __GFP_SENSITIVE);
    }
    if (pfn < 0) {
      this.stats.allocFailed++;
      return;
    }
    const want = contentOf(k.cpu + 1, 1 + rng.below(0xfffe));
    const pages = Math.min(1 << order, CHECK_PAGES);
    for (let i = 0; i < pages; i++) {
      if (ns) {
        const r = k.mmu.write(asiPhysmapVa(pfn + i), k.cpu + 1, want & 0xffff);
        if (r < 0) this.unreachable(pfn + i, r);
      } else {
        writeFrame(k.frame, pfn + i, k.cpu + 1, want & 0xffff);
      }
    }
    const i = this.n++;
    this.pfn[i] = pfn;
    this.order[i] = order;
    this.ns[i] = ns ? 1 : 0;
    this.want[i] = want;
    this.heldPages += 1 << order;
    if (ns) this.stats.allocNonsensitive++;
    else this.stats.allocSensitive++;
  }

  /** A nonsensitive allocation the physmap does not reach (the walk faulted). */
  private unreachable(pfn: number, code: number): void {
    const k = this.k;
    reportViolation(k.views, k.cpu, V_ASI_MAPPING, asiPhysmapVa(pfn), pfn, 1, code, -1, this.op);
  }

  /** Reads back allocation i's checked pages (through the physmap for nonsensitive ones). */
  private check(i: number): void {
    const k = this.k;
    const pfn = this.pfn[i]!;
    const want = this.want[i]!;
    const pages = Math.min(1 << this.order[i]!, CHECK_PAGES);
    this.stats.reads++;
    for (let p = 0; p < pages; p++) {
      let got: number;
      if (this.ns[i] === 1) {
        got = k.mmu.read(asiPhysmapVa(pfn + p));
        if (got < 0) {
          this.unreachable(pfn + p, got);
          return;
        }
      } else {
        got = readFrame(k.frame, pfn + p);
      }
      if (got !== want) {
        readbackViolation(k, -1, this.op, this.ns[i] === 1 ? asiPhysmapVa(pfn + p) : 0, want, got);
        return;
      }
    }
  }

  private freeOne(i: number): void {
    const k = this.k;
    this.check(i);
    k.alloc.freePages(k.cpu, this.pfn[i]!, this.order[i]!);
    this.heldPages -= 1 << this.order[i]!;
    const last = --this.n;
    this.pfn[i] = this.pfn[last]!;
    this.order[i] = this.order[last]!;
    this.ns[i] = this.ns[last]!;
    this.want[i] = this.want[last]!;
    this.stats.frees++;
  }

  /**
   * read() of a file page (cached on first use: a sensitive, movable page
   * that then stays, unmapped, until truncated), or truncation of one.
   */
  private fileOp(): void {
    const k = this.k;
    const rng = this.rng;
    const file = rng.below(FILE_MAX);
    const index = rng.below(FILE_NR_PAGES);
    if (rng.below(100) < 80) {
      const pfn = filemapGetPage(k, file, index);
      if (pfn < 0) {
        this.stats.allocFailed++;
        return;
      }
      const tag = fileTag(file, index);
      const got = readFrame(k.frame, pfn);
      if (got === 0) writeFrame(k.frame, pfn, FILE_DOMAIN, tag & 0xffff);
      else if (got !== tag) readbackViolation(k, -1, this.op, 0, tag, got);
      putPage(k, pfn);
      this.stats.cacheReads++;
      return;
    }
    const pfn = findFilePage(k.views.file, file, index);
    if (pfn >= 0 && deleteFromPageCache(k, file, index, pfn)) {
      putPage(k, pfn);
      this.stats.truncates++;
    }
  }

  endOps(): void {
    while (this.n > 0) this.freeOne(this.n - 1);
  }

  finish(): Record<string, unknown> {
    const k = this.k;
    const at = k.cpu * COUNTERS_STRIDE;
    return {
      ...this.stats,
      flipsToNonsensitive: k.counters[at + C.pageblockFlipsToNonsensitive],
      flipsToSensitive: k.counters[at + C.pageblockFlipsToSensitive],
      compactions: k.counters[at + C.compactions],
    };
  }
}

export const flipStorm: Scenario = {
  name: NAME,
  description: 'ASI: CPUs swing between nonsensitive and sensitive allocations, forcing pageblock sensitivity flips both ways (with compaction of page-cache pages) while reading through the nonsensitive physmap',
  memBytes: 64 * 2 ** 20,
  optionNames: OPTION_NAMES,
  setup(ctx: SetupCtx): void {
    options(ctx.options);
    bootMachine(ctx.mem, makeSmpCtx(ctx.mem, 0, ctx.epochMs), { asi: true });
  },
  create(ctx: ProgramCtx): CpuProgram {
    return new FlipStormCpu(ctx);
  },
  endCheck: checkMachineAtEnd,
};
