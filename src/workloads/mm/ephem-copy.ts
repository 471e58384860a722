// ephmap-copy: read() copies of page-cache pages through an ephemeral map
// while other threads evict those pages and close the file: the race the
// mitigation flushes exist for, without the ASI address space (the
// ephemeral maps and their oracle need none; see issue 7).
//
// Each process has one tmpfs-like file open (file 0, shared by all, with
// known contents); every thread, each op:
// - reads a random page of it the way shmem_file_read_iter does under ASI
//   with the ephmap (map=ephmap: migrate_disable, ephmap_get, copy,
//   ephmap_put; a busy slot falls back to the physmap copy) or the mermap
//   (map=mermap: mermap_get, or the reserved page with preemption off when
//   it fails), or the physmap only (map=physmap), and checks the copy reads
//   the file's content; with holdPercent the copy "faults on the user
//   buffer" and sleeps: the mapping stays live across a reschedule and is
//   read again and put when the task next runs (on the same CPU: migration
//   is disabled);
// - with evictPercent, evicts a random page of the file (the reclaim side:
//   mitigation flush of every process that has it open, then free);
// - thread 0 of each process, with closePercent, closes or reopens the
//   file (the last reference runs the release and its mitigation flush);
// - map=mermap, with scratchPercent: zeroes a fresh kernel page through the
//   reserved mermap page (preemption off, as the 2026 allocator's zeroing
//   path), checks it, and frees it after flushing the window (the mermap
//   contract).
// The hardware speculatively fills other CPUs' live slots of the running
// mm (kernel/ephmap/speculate-ephemeral.ts), so without the mitigation
// flushes a CPU keeps a translation to a page its process lost: the
// isolation audit at eviction and close reports it (cpu = the CPU that
// cached it, slotCpu = the CPU that owned the slot).
//
// Options (besides the common ones; defaults here: mode threads, procs 2,
// threads = CPUs, slice 2): map (ephmap|mermap|physmap, default ephmap),
// slots (K: 1 or 2; with 2 a read maps two pages at once, as copy-on-write
// would), filePages (32), holdPercent (30), evictPercent (10), closePercent
// (5), scratchPercent (20, map=mermap only).

import { CPU_PREEMPT_COUNT, FILE_DISK, FILE_STRIDE, TASK_PINNED, TASK_STRIDE } from '../../../native-layout/fields.js';
import { INVPCID_ALL_INCL_GLOBAL } from '../../hw/mmu.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import { writeFrame } from '../../hw/frames.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { ephmapGet, ephmapPut, ephemeralRead, physmapRead, setEphmapSlots } from '../../kernel/ephmap/ephmap.js';
import { kmapLocalPage, kmapSlotVa, kunmapLocal, KMAP_MAX_CPUS } from '../../kernel/ephmap/kmap-local.js';
import { evictCachePage, fileGet, fileOpen, filePut } from '../../kernel/ephmap/lose-access.js';
import { fixmapInit } from '../../kernel/mm/fixmap.js';
import { EPHMAP_SLOT_PAGES, cpuWindowBase, enableMmLocalRegion } from '../../kernel/ephmap/region.js';
import {
  MERMAP_FAIL, checkMermapFreed, mermapFlushBeforeFree, mermapGet, mermapGetReserved, mermapPut,
} from '../../kernel/mermap/mermap.js';
import { filemapGetPage } from '../../kernel/mm/filemap.js';
import { putPage } from '../../kernel/mm/page-ref.js';
import { GFP_KERNEL } from '../../kernel/page_alloc/gfp.js';
import { migrateDisable, migrateEnable } from '../../kernel/sched/migrate.js';
import { taskMm } from '../../kernel/sched/task.js';
import { parseVariant } from '../../kernel/variant.js';
import { BUG, injected } from '../../check/bugs.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import {
  KIND_EPHEM_COPY, W_AUX0, W_AUX1, W_AUX2, W_INDEX, W_ITER, W_PHASE, W_REGION, contentOf, readbackViolation, secretOf,
  setTw, tw,
} from './common.js';
import { processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, ScenarioOptionError, choiceOption, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu } from './runner.js';
import { mmPrograms } from './tlb-flush2.js';

const NAME = 'ephmap-copy';
const PAGE = 4096;
/** The file every process reads. */
const FILE = 0;
/** Content domain of the file's data. */
const FILE_DOMAIN = 0x7fff;
/** Content domain of scratch (zeroed kernel) pages. */
const SCRATCH_DOMAIN = 0x7ffe;
/** Thread 0's word saying whether its process's descriptor is open (this scenario maps no user region). */
const W_FD_OPEN = W_REGION;
/** W_PHASE: idle, or a copy sleeping with its mapping(s) live. */
const PHASE_IDLE = 0;
const PHASE_HOLDING = 1;
const BUG_MIGRATE_ENABLED = BUG['ephmap-migrate-enabled']!;
/** Window-page code of kmap slot 0 in W_AUX2 (window pages are below 512). */
const KMAP_PAGE = 500;

export type EphemMap = 'ephmap' | 'mermap' | 'kmap' | 'physmap';

type EphemOptions = CommonOptions & {
  readonly map: EphemMap;
  readonly slots: number;
  readonly filePages: number;
  readonly holdPercent: number;
  readonly evictPercent: number;
  readonly closePercent: number;
  readonly scratchPercent: number;
};

/**
 * The map a run uses when the map option is not given: ephmap-copy's own
 * default, or (page-cache-evict) the variant's ephemeral map, the physmap
 * without one.
 */
function defaultMap(name: string, o: ProgramCtx['options']): EphemMap {
  if (name === NAME) return 'ephmap';
  const e = parseVariant(String(o['variant'] ?? 'asi-off')).ephemeral;
  return e === 'none' ? 'physmap' : e;
}

function options(name: string, ctx: { options: ProgramCtx['options']; cpus: number }): EphemOptions {
  const o = commonOptions(name, ctx.options, ctx.cpus, { mode: 'threads', procs: 2, threads: ctx.cpus, slice: 2, pages: 1 });
  if (o.mode !== 'threads') throw new ScenarioOptionError(`${name} option mode=${o.mode} is invalid: use threads (the race needs several CPUs in one mm)`);
  return {
    ...o,
    map: choiceOption(name, ctx.options, 'map', defaultMap(name, ctx.options), ['ephmap', 'mermap', 'kmap', 'physmap'] as const),
    slots: intOption(name, ctx.options, 'slots', 1, 1, 2),
    filePages: intOption(name, ctx.options, 'filePages', 32, 2, 512),
    holdPercent: intOption(name, ctx.options, 'holdPercent', 30, 0, 100),
    evictPercent: intOption(name, ctx.options, 'evictPercent', 10, 0, 100),
    closePercent: intOption(name, ctx.options, 'closePercent', 5, 0, 100),
    scratchPercent: intOption(name, ctx.options, 'scratchPercent', 20, 0, 100),
  };
}

/** The content word page `index` of the file holds (on disk and in the cache). */
function fileContent(index: number): number {
  return contentOf(FILE_DOMAIN, secretOf(FILE, index, 1));
}

/** Per-CPU tallies of this scenario. */
class EphemStats {
  reads = 0;
  ephemeralReads = 0;
  fallbackReads = 0;
  reservedReads = 0;
  holds = 0;
  evictions = 0;
  closes = 0;
  reopens = 0;
  closedSkips = 0;
  scratch = 0;
}

/**
 * A mapping of `pages` (1 or 2) file pages: encoded in task words so it
 * survives the sleep. AUX0 = index of the first page, AUX1 = its pfn (the
 * second page, if any, is index + 1 and its pfn is found again through the
 * held reference's slot: we keep only what the put needs), AUX2 = cpu * 512
 * + window page of the first mapping, -1 if the copy fell back.
 */
class EphemCpu extends MmCpu {
  readonly eo: EphemOptions;
  readonly es = new EphemStats();
  /** Second page of a two-page (K = 2) copy, kept per CPU: a holder never leaves this CPU in a correct kernel. */
  private readonly second = new Map<number, { index: number; pfn: number; page: number }>();

  constructor(ctx: ProgramCtx, o: EphemOptions) {
    super(ctx, o, PROGRAMS);
    this.eo = o;
  }

  step2(k: KernelCtx, tid: number): void {
    const mm = taskMm(k, tid);
    if (tw(k, tid, W_PHASE) === PHASE_HOLDING) {
      this.finishCopy(k, tid, mm, true);
      return;
    }
    setTw(k, tid, W_ITER, tw(k, tid, W_ITER) + 1);
    const o = this.eo;
    if (tw(k, tid, W_INDEX) === 0 && this.rng.below(100) < o.closePercent) this.closeOrReopen(k, tid, mm);
    if (this.rng.below(100) < o.evictPercent && evictCachePage(k, FILE, this.rng.below(o.filePages))) this.es.evictions++;
    if (o.map === 'mermap' && this.rng.below(100) < o.scratchPercent) this.scratch(k, tid, mm);
    this.startCopy(k, tid, mm);
  }

  private closeOrReopen(k: KernelCtx, tid: number, mm: number): void {
    if (tw(k, tid, W_FD_OPEN) !== 0) {
      setTw(k, tid, W_FD_OPEN, 0);
      filePut(k, mm, FILE);
      this.es.closes++;
    } else if (fileOpen(k, mm)) {
      setTw(k, tid, W_FD_OPEN, 1);
      this.es.reopens++;
    }
  }

  /** read() of one page (two with K = 2): get the page(s), map, copy, and either finish or sleep holding the mapping. */
  private startCopy(k: KernelCtx, tid: number, mm: number): void {
    if (!fileGet(k, mm)) {
      this.es.closedSkips++;
      return;
    }
    const o = this.eo;
    const index = this.rng.below(o.filePages - 1);
    const pfn = filemapGetPage(k, FILE, index);
    if (pfn < 0) {
      this.stats.oom++;
      filePut(k, mm, FILE);
      return;
    }
    this.es.reads++;
    setTw(k, tid, W_AUX0, index);
    setTw(k, tid, W_AUX1, pfn);
    setTw(k, tid, W_AUX2, -1);
    if (o.map === 'physmap') {
      this.check(k, tid, -1, index, physmapRead(k, pfn));
      this.es.fallbackReads++;
      this.release(k, tid, mm);
      return;
    }
    // Migration stays disabled from get to put: the slot and its flush are
    // this CPU's (ephmap-migrate-enabled leaves it on).
    if (injected[BUG_MIGRATE_ENABLED] === 0) migrateDisable(k, tid);
    const page = this.map(k, tid, mm, 0, pfn);
    if (page < 0) {
      this.fallback(k, tid, mm, index, pfn);
      return;
    }
    setTw(k, tid, W_AUX2, k.cpu * 512 + page);
    this.check(k, tid, this.pageVa(k.cpu, page), index, -2);
    if (o.slots === 2) this.mapSecond(k, tid, mm, index + 1);
    if (this.rng.below(100) < o.holdPercent) {
      setTw(k, tid, W_PHASE, PHASE_HOLDING);
      this.es.holds++;
      this.endSlice();
      return;
    }
    this.finishCopy(k, tid, mm, false);
  }

  /**
   * Maps pfn through this scenario's ephemeral map; returns the window
   * page (for kmap: KMAP_PAGE + the slot index), or -1.
   */
  private map(k: KernelCtx, tid: number, mm: number, slot: number, pfn: number): number {
    if (this.eo.map === 'kmap') {
      const va = kmapLocalPage(k, tid, pfn);
      return KMAP_PAGE + Math.round((kmapSlotVa(k.cpu, 0) - va) / PAGE);
    }
    if (this.eo.map === 'ephmap') {
      const va = ephmapGet(k, mm, slot, pfn, 1, tid);
      return va < 0 ? -1 : slot * EPHMAP_SLOT_PAGES;
    }
    const va = mermapGet(k, mm, pfn, 1, tid);
    return va === MERMAP_FAIL ? -1 : Math.round((va - cpuWindowBase(k.cpu)) / PAGE);
  }

  private mapSecond(k: KernelCtx, tid: number, mm: number, index: number): void {
    const pfn = filemapGetPage(k, FILE, index);
    if (pfn < 0) return;
    const page = this.map(k, tid, mm, 1, pfn);
    if (page < 0) {
      this.check(k, tid, -1, index, physmapRead(k, pfn));
      putPage(k, pfn);
      return;
    }
    this.check(k, tid, this.pageVa(k.cpu, page), index, -2);
    this.second.set(tid, { index, pfn, page });
  }

  /**
   * The get failed: the physmap copy (under ASI, an exit), or with the
   * mermap the reserved page, which always succeeds with preemption off.
   */
  private fallback(k: KernelCtx, tid: number, mm: number, index: number, pfn: number): void {
    if (this.eo.map === 'mermap') {
      k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT] = k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT]! + 1;
      const va = mermapGetReserved(k, mm, pfn, tid);
      this.check(k, tid, va, index, -2);
      mermapPut(k, mm, va);
      k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT] = k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT]! - 1;
      this.es.reservedReads++;
    } else {
      this.check(k, tid, -1, index, physmapRead(k, pfn));
      this.es.fallbackReads++;
    }
    if (injected[BUG_MIGRATE_ENABLED] === 0) migrateEnable(k, tid, -1);
    this.release(k, tid, mm);
  }

  /** Reads through va (or checks a physmap read `got`) against the file's content. */
  private check(k: KernelCtx, tid: number, va: number, index: number, got: number): void {
    if (va >= 0) {
      got = ephemeralRead(k, va);
      this.es.ephemeralReads++;
    }
    const want = fileContent(index);
    if (got !== want) readbackViolation(k, tid, this.op, va >= 0 ? va : index * PAGE, want, got);
  }

  /** The rest of the copy (reading again after a sleep), then put and release. */
  private finishCopy(k: KernelCtx, tid: number, mm: number, again: boolean): void {
    const enc = tw(k, tid, W_AUX2);
    const cpu = Math.floor(enc / 512);
    const page = enc % 512;
    const va = this.pageVa(cpu, page);
    const extra = this.second.get(tid);
    if (again) {
      this.check(k, tid, va, tw(k, tid, W_AUX0), -2);
      if (extra) this.check(k, tid, this.pageVa(cpu, extra.page), extra.index, -2);
    }
    if (extra) {
      this.unmap(k, tid, mm, this.pageVa(cpu, extra.page));
      putPage(k, extra.pfn);
      this.second.delete(tid);
    }
    this.unmap(k, tid, mm, va);
    if (injected[BUG_MIGRATE_ENABLED] === 0) migrateEnable(k, tid, -1);
    setTw(k, tid, W_PHASE, PHASE_IDLE);
    this.release(k, tid, mm);
  }

  /** The address of a mapping recorded as (cpu, window page); kmap slots are fixmap addresses. */
  private pageVa(cpu: number, page: number): number {
    return page >= KMAP_PAGE ? kmapSlotVa(cpu, page - KMAP_PAGE) : cpuWindowBase(cpu) + page * PAGE;
  }

  private unmap(k: KernelCtx, tid: number, mm: number, va: number): void {
    if (this.eo.map === 'kmap') kunmapLocal(k, tid, va);
    else if (this.eo.map === 'ephmap') ephmapPut(k, mm, va, 1);
    else mermapPut(k, mm, va);
  }

  /** Drops the page reference and the file reference of a finished read. */
  private release(k: KernelCtx, tid: number, mm: number): void {
    putPage(k, tw(k, tid, W_AUX1));
    filePut(k, mm, FILE);
  }

  /**
   * Zeroing a fresh kernel page through the reserved mermap page, as the
   * 2026 allocator does for pages absent from the direct map; then the
   * mermap contract before the free: flush the window, and the oracle
   * checks nothing here still translates to the frame.
   */
  private scratch(k: KernelCtx, tid: number, mm: number): void {
    const pfn = k.alloc.allocPages(k.cpu, 0, GFP_KERNEL);
    if (pfn < 0) {
      this.stats.oom++;
      return;
    }
    writeFrame(k.frame, pfn, SCRATCH_DOMAIN, 1 + this.rng.below(0xfffe));
    k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT] = k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT]! + 1;
    const va = mermapGetReserved(k, mm, pfn, tid);
    k.mmu.write(va, 0, 0);
    const got = k.mmu.read(va);
    if (got !== 0) readbackViolation(k, tid, this.op, va, 0, got);
    mermapPut(k, mm, va);
    mermapFlushBeforeFree(k, mm);
    checkMermapFreed(k, pfn);
    k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT] = k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT]! - 1;
    k.alloc.freePages(k.cpu, pfn, 0);
    this.es.scratch++;
  }

  /**
   * Copies still asleep at the end hold a slot of this CPU and page
   * references: release them here (their mm may not be the loaded one, so
   * the local flush is a full one), so the end check sees every page
   * accounted for.
   */
  endOps(): void {
    const k = this.k;
    for (let tid = 0; tid < k.maxTasks; tid++) {
      if (k.task[tid * TASK_STRIDE + TASK_PINNED] !== k.cpu && injected[BUG_MIGRATE_ENABLED] === 0) continue;
      if (tw(k, tid, W_PHASE) !== PHASE_HOLDING) continue;
      const enc = tw(k, tid, W_AUX2);
      if (Math.floor(enc / 512) !== k.cpu) continue;
      this.finishCopy(k, tid, taskMm(k, tid), false);
    }
    k.mmu.invpcid(INVPCID_ALL_INCL_GLOBAL, 0);
  }

  override finish(): Record<string, unknown> {
    return { ...super.finish(), ...this.es };
  }
}

function ephemStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  (cpu as EphemCpu).step2(k, tid);
}

const PROGRAMS = mmPrograms({ [KIND_EPHEM_COPY]: ephemStep });

function ephemScenario(name: string, description: string): Scenario {
  return {
  name,
  description,
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('map', 'slots', 'filePages', 'holdPercent', 'evictPercent', 'closePercent', 'scratchPercent'),
  setup(ctx: SetupCtx): void {
    const o = options(name, ctx);
    const { procs, threads } = processShape(o);
    const plan = {
      threads,
      kindOf: () => KIND_EPHEM_COPY,
      init: (k: KernelCtx, tid: number, mm: number, i: number) => {
        setTw(k, tid, W_PHASE, PHASE_IDLE);
        if (i === 0) {
          if (!fileOpen(k, mm)) throw new ScenarioOptionError(`${name}: process of task ${tid} had its file open already`);
          setTw(k, tid, W_FD_OPEN, 1);
        }
      },
    };
    if (o.map === 'kmap' && ctx.cpus > KMAP_MAX_CPUS) throw new ScenarioOptionError(`${name} option map=kmap supports at most ${KMAP_MAX_CPUS} CPUs, not ${ctx.cpus}`);
    setupMmMachine(ctx, name, o, Array.from({ length: procs }, () => plan), 1, 1, (k) => {
      fixmapInit(k);
      enableMmLocalRegion(k);
      setEphmapSlots(k, o.slots);
      for (let i = 0; i < o.filePages; i++) k.views.file[FILE * FILE_STRIDE + FILE_DISK + i] = fileContent(i) | 0;
    });
  },
  create(ctx: ProgramCtx): CpuProgram {
    return new EphemCpu(ctx, options(name, ctx));
  },
  endCheck: checkMachineAtEnd,
};
}

export const ephmapCopy = ephemScenario(NAME,
  'threads copy page-cache pages through the ephmap/mermap/kmap while others evict them and close the file (mitigation flushes vs speculative entries)');

/**
 * page-cache-evict (issue 7): the same readers vs evictor vs closer, with
 * the map the --variant names (asi-on+ephmap, asi-on+mermap; the physmap
 * otherwise): under ASI the copies run in the nonsensitive address space,
 * a physmap fallback exits, and the mitigation flushes meet ASI's flush
 * exits.
 */
export const pageCacheEvict = ephemScenario('page-cache-evict',
  'readers copy page-cache pages through the variant\'s ephemeral map while an evictor frees them and a closer drops the file (the mitigation-flush race, under ASI)');
