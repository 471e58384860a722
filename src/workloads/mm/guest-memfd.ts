// guest-memfd: vCPUs fault in and free guest memory of a guest_memfd file
// with no direct map, while the other CPUs run ordinary kernel work over
// the direct map (issue 8; SEMANTICS.md §8). `--variant per-folio |
// no-flush | freetype` picks the direct-map strategy
// (src/kernel/gmem/strategy.ts), `--option recursion=refuse|prealloc|4k`
// the answer to the split recursion (src/kernel/gmem/direct-map.ts),
// `--option leaves=1g|2m|4k` how the direct map is built at boot (1 GiB
// leaves where memory allows: the default machine has 1 GiB).
//
// - CPUs 0 .. vcpus-1 are vCPUs, each with its own guest_memfd file and
//   slice of the VM's second-level table. Each op a vCPU touches a random
//   gfn of its file: a non-present gfn is an EPT violation that faults the
//   folio in (the strategy takes it out of the direct map) and writes guest
//   data into it; a present one is read back (it must hold what the guest
//   wrote) or rewritten; now and then the vCPU punches a hole of 1-8 pages
//   (invalidation through the notifier, then ->free_folio). Every
//   `migrateEvery` ops it migrates one of its pages from its kernel-thread
//   context (no user mm) through the mermap (src/kernel/gmem/migrate.ts).
// - The other CPUs are the host: each op one allocates or frees an
//   ordinary kernel page and writes and reads its own pages through the
//   direct map (which fills 1 GiB / 2 MiB / 4 KiB direct-map TLB entries
//   covering neighbouring guest frames too), then makes `specLoads`
//   speculative loads of random direct-map addresses: through whatever
//   its TLB caches, else through a walk that caches a present translation
//   (SEMANTICS §1 speculative fills). The oracle (src/check/gmem.ts)
//   reports any of these that reaches guest data.
//
// Asserts: guest data reads back; host pages read back through the direct
// map (an allocated page the direct map does not reach is a
// direct-map-hole); the end-of-run machine check.

import { C } from '../../../native-layout/counters.js';
import { COUNTERS_STRIDE, GMEM_BOOT_SPLITS, GMEM_BOOT_TABLES } from '../../../native-layout/fields.js';
import { GMEM_SLAT_GFNS } from '../../../native-layout/regions.js';
import { BUG, injected, unreachableInjectedBug } from '../../check/bugs.js';
import { GMEM_READ_TLB, GMEM_READ_WALK, GUEST_DOMAIN_BASE, checkGmemDirectMapRead, reportDirectMapHole } from '../../check/gmem.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import { readFrame, writeFrame } from '../../hw/frames.js';
import { DIRECT_MAP_LEAVES, type DirectMapLeaves, directMapInit } from '../../kernel/asi/direct-map.js';
import { physmapVa } from '../../kernel/asi/layout.js';
import { bootMachine, cpuBringup } from '../../kernel/boot.js';
import { type KernelCtx, applyVariant } from '../../kernel/ctx.js';
import { GmemAllocator } from '../../kernel/gmem/alloc-context.js';
import { ANSWER_PREALLOC, ANSWER_4K, GmemDirectMap, RECURSION_ANSWERS, type RecursionAnswer, gmemBootDirectMap } from '../../kernel/gmem/direct-map.js';
import { GmemFile, SlatSlice } from '../../kernel/gmem/file.js';
import { GmemMigrator, gmemBootMigration } from '../../kernel/gmem/migrate.js';
import { type GmemCpuParts, gmemStrategy } from '../../kernel/gmem/strategy.js';
import { UnmappedPool } from '../../kernel/gmem/unmapped-pool.js';
import { GmemUnmappedOps } from '../../kernel/gmem/unmapped-ops.js';
import { GFP_KERNEL } from '../../kernel/page_alloc/gfp.js';
import { PageAllocator } from '../../kernel/page_alloc/index.js';
import { makeSmpCtx, pollIpis } from '../../kernel/smp.js';
import { type GmemStrategyName, parseVariant } from '../../kernel/variant.js';
import type { CpuProgram, ProgramCtx, Scenario, ScenarioOptions, SetupCtx } from '../program.js';
import { Xorshift32 } from '../prng.js';
import { contentOf, readbackViolation } from './common.js';
import { ScenarioOptionError, choiceOption, intOption } from './options.js';
import { GMEM_DEFAULT_LEAVES, GMEM_DEFAULT_RECURSION } from '../../report/scenario-counters.js';

const NAME = 'guest-memfd';
const PAGE_BLOCK = 512;

interface GuestMemfdOptions {
  readonly vcpus: number;
  readonly guestPages: number;
  readonly readPercent: number;
  readonly writePercent: number;
  readonly punchPercent: number;
  readonly hostPages: number;
  readonly specLoads: number;
  readonly migrateEvery: number;
  readonly recursion: RecursionAnswer;
  readonly leaves: DirectMapLeaves;
}

const OPTION_NAMES = [
  'vcpus', 'guestPages', 'readPercent', 'writePercent', 'punchPercent', 'hostPages', 'specLoads', 'migrateEvery', 'recursion', 'leaves',
];

function options(o: ScenarioOptions, cpus: number): GuestMemfdOptions {
  return {
    vcpus: intOption(NAME, o, 'vcpus', Math.max(1, cpus >> 1), 1, cpus),
    guestPages: intOption(NAME, o, 'guestPages', 1024, 1, GMEM_SLAT_GFNS),
    readPercent: intOption(NAME, o, 'readPercent', 50, 0, 100),
    writePercent: intOption(NAME, o, 'writePercent', 20, 0, 100),
    punchPercent: intOption(NAME, o, 'punchPercent', 10, 0, 100),
    hostPages: intOption(NAME, o, 'hostPages', 32, 1, 4096),
    specLoads: intOption(NAME, o, 'specLoads', 8, 0, 64),
    migrateEvery: intOption(NAME, o, 'migrateEvery', 200, 0, 1_000_000),
    recursion: choiceOption(NAME, o, 'recursion', GMEM_DEFAULT_RECURSION, RECURSION_ANSWERS),
    leaves: choiceOption(NAME, o, 'leaves', GMEM_DEFAULT_LEAVES, DIRECT_MAP_LEAVES),
  };
}

function strategyOf(o: ScenarioOptions): GmemStrategyName {
  const v = parseVariant(String(o['variant'] ?? 'asi-off'));
  if (v.asi) throw new ScenarioOptionError(`${NAME}: --variant ${v.name}: guest-memfd runs without ASI (use per-folio, no-flush or freetype)`);
  return v.gmem ?? 'per-folio';
}

/** The parts every CPU of the machine has (allocator wrapper, direct-map handle, unmapped ops). */
function bringUp(ctx: ProgramCtx, pool: UnmappedPool | null, pa: PageAllocator): GmemCpuParts {
  const alloc = new GmemAllocator(pa);
  const k = cpuBringup(ctx.mem, ctx.smp, alloc);
  applyVariant(k, parseVariant(String(ctx.options['variant'] ?? 'asi-off')));
  const dm = new GmemDirectMap(k);
  alloc.attach(k, dm);
  alloc.pool = pool;
  pa.ctx.unmappedOps = new GmemUnmappedOps(k, dm);
  return { k, dm, alloc, pool };
}

class VcpuProgram implements CpuProgram {
  private readonly g: GmemCpuParts;
  private readonly k: KernelCtx;
  private readonly rng: Xorshift32;
  private readonly o: GuestMemfdOptions;
  private readonly slat: SlatSlice;
  private readonly file: GmemFile;
  private readonly want: Uint32Array;
  private readonly domain: number;
  private readonly migrator: GmemMigrator;
  private op = 0;
  readonly poll: () => void;
  private readonly stats = { faults: 0, faultFailed: 0, reads: 0, writes: 0, holes: 0, freed: 0, migrations: 0, migrateFailed: 0 };

  constructor(ctx: ProgramCtx, strategy: GmemStrategyName) {
    this.o = options(ctx.options, ctx.cpus);
    this.rng = new Xorshift32(ctx.seed, ctx.cpu);
    const pa = new PageAllocator(ctx.mem, { asi: false });
    const pool = new UnmappedPool(pa, Math.ceil(this.o.guestPages / PAGE_BLOCK) + 3);
    this.g = bringUp(ctx, pool, pa);
    this.k = this.g.k;
    this.domain = GUEST_DOMAIN_BASE + ctx.cpu;
    this.slat = new SlatSlice(this.k.views.gmemSlat, ctx.cpu);
    const strat = gmemStrategy(strategy);
    this.file = new GmemFile(this.g, strat, this.slat, this.o.guestPages);
    this.want = new Uint32Array(this.o.guestPages);
    this.migrator = new GmemMigrator(this.g, strat);
    if (ctx.cpu === 0) {
      const k = this.k;
      k.counters[k.countersAt + C.pageTablesForDirectMap] += k.views.gmem[GMEM_BOOT_TABLES]!;
      k.counters[k.countersAt + C.directMapSplits] += k.views.gmem[GMEM_BOOT_SPLITS]!;
    }
    const smp = ctx.smp;
    this.poll = () => pollIpis(smp);
  }

  step(): void {
    const k = this.k;
    const rng = this.rng;
    const o = this.o;
    this.op++;
    k.mmu.setOracleContext(-1, this.op);
    const gfn = rng.below(o.guestPages);
    let pfn = this.slat.lookup(gfn);
    if (pfn < 0) {
      // EPT violation: fault the folio in, map it, the guest writes.
      pfn = this.file.getPfn(gfn);
      if (pfn < 0) {
        this.stats.faultFailed++;
        return;
      }
      this.slat.install(gfn, pfn);
      this.stats.faults++;
      this.guestWrite(gfn, pfn);
    } else {
      const r = rng.below(100);
      if (r < o.readPercent) this.guestRead(gfn, pfn);
      else if (r < o.readPercent + o.writePercent) this.guestWrite(gfn, pfn);
      else if (r < o.readPercent + o.writePercent + o.punchPercent) this.punch(gfn, 1 + rng.below(8));
    }
    if (o.migrateEvery > 0 && this.op % o.migrateEvery === 0) this.migrateOne();
  }

  private guestWrite(gfn: number, pfn: number): void {
    const secret = 1 + this.rng.below(0xfffe);
    writeFrame(this.k.frame, pfn, this.domain, secret);
    this.want[gfn] = contentOf(this.domain, secret);
    this.stats.writes++;
  }

  private guestRead(gfn: number, pfn: number): void {
    const got = readFrame(this.k.frame, pfn);
    this.stats.reads++;
    if (got !== this.want[gfn]) readbackViolation(this.k, -1, this.op, 0, this.want[gfn]!, got);
  }

  private punch(gfn: number, n: number): void {
    const end = Math.min(this.o.guestPages, gfn + n);
    this.stats.freed += this.file.punchHole(gfn, end);
    for (let i = gfn; i < end; i++) this.want[i] = 0;
    this.stats.holes++;
  }

  /** Migrates the folio of a present gfn, the first from a random one on (from the vCPU's kernel-thread context). */
  private migrateOne(): void {
    const n = this.o.guestPages;
    let gfn = this.rng.below(n);
    for (let i = 0; i < n && this.file.folio(gfn) < 0; i++) gfn = gfn + 1 === n ? 0 : gfn + 1;
    if (this.file.folio(gfn) < 0) return;
    const to = this.migrator.migrate(this.file, this.slat, gfn);
    if (to < 0) {
      this.stats.migrateFailed++;
      return;
    }
    // The guest's data moved with it: the next read checks that.
    this.stats.migrations++;
  }

  endOps(): void {
    this.file.release();
    this.g.pool!.releaseFreeBlocks(this.k.cpu, 0);
    if (this.k.cpu === 0) this.g.dm.freeUnusedPrebuilt();
  }

  finish(): Record<string, unknown> {
    const k = this.k;
    const at = k.cpu * COUNTERS_STRIDE;
    return {
      role: 'vcpu',
      ...this.stats,
      blocksConverted: this.g.pool!.converted,
      blocksReleased: this.g.pool!.released,
      kernelFlushes: k.counters[at + C.gmemKernelFlushes],
    };
  }
}

class HostProgram implements CpuProgram {
  private readonly g: GmemCpuParts;
  private readonly k: KernelCtx;
  private readonly rng: Xorshift32;
  private readonly o: GuestMemfdOptions;
  private readonly pfn: Int32Array;
  private readonly want: Uint32Array;
  private n = 0;
  private op = 0;
  readonly poll: () => void;
  private readonly stats = { allocs: 0, allocFailed: 0, frees: 0, reads: 0, specLoads: 0, specTlb: 0, specWalks: 0 };

  constructor(ctx: ProgramCtx) {
    this.o = options(ctx.options, ctx.cpus);
    this.rng = new Xorshift32(ctx.seed, ctx.cpu);
    this.g = bringUp(ctx, null, new PageAllocator(ctx.mem, { asi: false }));
    this.k = this.g.k;
    this.pfn = new Int32Array(this.o.hostPages);
    this.want = new Uint32Array(this.o.hostPages);
    const smp = ctx.smp;
    this.poll = () => pollIpis(smp);
  }

  step(): void {
    const k = this.k;
    const rng = this.rng;
    this.op++;
    k.mmu.setOracleContext(-1, this.op);
    if (this.n > 0 && (this.n >= this.o.hostPages || rng.below(100) < 45)) this.freeOne(rng.below(this.n));
    else this.allocOne();
    if (this.n > 0) this.check(rng.below(this.n));
    for (let i = 0; i < this.o.specLoads; i++) this.specLoad(rng.below(k.env.frames));
  }

  private allocOne(): void {
    const k = this.k;
    const pfn = this.g.alloc.allocPages(k.cpu, 0, GFP_KERNEL);
    if (pfn < 0) {
      this.stats.allocFailed++;
      return;
    }
    const secret = 1 + this.rng.below(0xfffe);
    // The kernel writes its new page through the direct map: an allocated
    // frame the direct map does not reach is the next owner's fault.
    if (k.mmu.write(physmapVa(pfn), k.cpu + 1, secret) < 0) reportDirectMapHole(k, pfn, 0);
    const i = this.n++;
    this.pfn[i] = pfn;
    this.want[i] = contentOf(k.cpu + 1, secret);
    this.stats.allocs++;
  }

  private check(i: number): void {
    const k = this.k;
    const pfn = this.pfn[i]!;
    const got = k.mmu.read(physmapVa(pfn));
    this.stats.reads++;
    if (got < 0) {
      reportDirectMapHole(k, pfn, 0);
      return;
    }
    if (got !== this.want[i]) readbackViolation(k, -1, this.op, physmapVa(pfn), this.want[i]!, got);
  }

  private freeOne(i: number): void {
    const k = this.k;
    this.check(i);
    this.g.alloc.freePages(k.cpu, this.pfn[i]!, 0);
    const last = --this.n;
    this.pfn[i] = this.pfn[last]!;
    this.want[i] = this.want[last]!;
    this.stats.frees++;
  }

  /**
   * A speculative load of pfn's direct-map address: through a TLB entry
   * the CPU holds (any size), else through a walk that caches a present
   * translation. Nothing faults; the oracle looks at what it reached.
   */
  private specLoad(pfn: number): void {
    const k = this.k;
    const va = physmapVa(pfn);
    this.stats.specLoads++;
    const hit = k.mmu.tlb.probePfn(va, 0);
    if (hit >= 0) {
      this.stats.specTlb++;
      checkGmemDirectMapRead(k, va, hit, GMEM_READ_TLB, this.op);
      return;
    }
    const walked = k.mmu.specFill(va);
    if (walked < 0) return;
    this.stats.specWalks++;
    checkGmemDirectMapRead(k, va, walked, GMEM_READ_WALK, this.op);
  }

  endOps(): void {
    while (this.n > 0) this.freeOne(this.n - 1);
  }

  finish(): Record<string, unknown> {
    return { role: 'host', ...this.stats };
  }
}

export const guestMemfd: Scenario = {
  name: NAME,
  description: 'guest_memfd with no direct map: vCPUs fault in and free guest memory (--variant per-folio|no-flush|freetype) on a direct map of 1 GiB leaves, while host CPUs read through the direct map and speculate',
  memBytes: 1024 * 2 ** 20,
  optionNames: OPTION_NAMES,
  setup(ctx: SetupCtx): void {
    const o = options(ctx.options, ctx.cpus);
    strategyOf(ctx.options);
    // An injected bug this configuration never reaches is refused (exit 2), not passed clean.
    const unreachable = unreachableInjectedBug(String(ctx.options['variant'] ?? 'asi-off'), o as unknown as Record<string, unknown>, NAME);
    if (unreachable !== null) throw new ScenarioOptionError(unreachable);
    if (injected[BUG['recursive-split']!] !== 0 && ctx.options['recursion'] !== undefined) {
      // The bug is "no answer at all": an answer asked for by name would be
      // silently switched off, and the report would still name it.
      throw new ScenarioOptionError(`${NAME}: --inject recursive-split removes every recursion answer: drop --option recursion=${String(ctx.options['recursion'])}`);
    }
    if (injected[BUG['recursive-split']!] !== 0 && o.leaves !== '1g') {
      throw new ScenarioOptionError(`${NAME}: --inject recursive-split needs --option leaves=1g (only a 1 GiB leaf has to be split inside the allocator)`);
    }
    const k = bootMachine(ctx.mem, makeSmpCtx(ctx.mem, 0, ctx.epochMs), { asi: false });
    applyVariant(k, parseVariant(String(ctx.options['variant'] ?? 'asi-off')));
    const tables0 = k.counters[k.countersAt + C.pageTablesAllocated]!;
    directMapInit(k, true, o.leaves);
    gmemBootDirectMap(k, o.leaves, o.recursion);
    const dm = new GmemDirectMap(k);
    // The answers that act at boot (none under recursive-split: no answer at all).
    const splits0 = k.counters[k.countersAt + C.directMapSplits]!;
    if (dm.answer() === ANSWER_PREALLOC) dm.preallocPmdTables();
    if (dm.answer() === ANSWER_4K) dm.fragmentAll();
    // What the direct map cost before any CPU ran: the run's counters start
    // at zero, so CPU 0 adds these to its own when it comes up.
    k.views.gmem[GMEM_BOOT_TABLES] = k.counters[k.countersAt + C.pageTablesAllocated]! - tables0;
    k.views.gmem[GMEM_BOOT_SPLITS] = k.counters[k.countersAt + C.directMapSplits]! - splits0;
    gmemBootMigration(k);
  },
  create(ctx: ProgramCtx): CpuProgram {
    const strategy = strategyOf(ctx.options);
    const o = options(ctx.options, ctx.cpus);
    return ctx.cpu < o.vcpus ? new VcpuProgram(ctx, strategy) : new HostProgram(ctx);
  },
  endCheck: checkMachineAtEnd,
};
