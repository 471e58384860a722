// mremap-truncate: CVE-2018-18281 (mremap vs ftruncate, Jann Horn; LTP
// mremap06) as a workload. The threads of one process share a MAP_SHARED
// mapping of a page-cache file (512 pages, the whole file):
// - the mover (thread 0) writes every page once, then at movePercent of its
//   steps mremaps the whole area to the other of two addresses, publishing
//   where it is (a location word, and a sequence word that is odd while a
//   move is under way);
// - the truncater (thread 1), at every step while a move is under way and
//   at truncatePercent of its other steps, truncates a random run of
//   truncPages pages among the first 32 of the file: zapped through the
//   rmap in every VMA that maps them, each zap flushing only that page in
//   that VMA, and the page-cache pages freed; the readers' next faults
//   fill them again (holes: zero);
// - readers (the rest, and the other two between their own actions) read
//   the area where it is published, mostly (hotPercent) its first 32
//   pages, so their TLBs hold them at the current address; now and then
//   (writePercent) they write one instead.
// Asserts: a page reads back zero (a hole) or data of this process; a
// segfault is expected only if a move was under way when the location was
// read, or began since. A stale TLB hit on a freed page is the inline
// oracle's (src/hw/mmu.ts), a stale entry still cached when its flush
// arrives the flush-time audit's (src/check/flush-audit.ts).
//
// Why it catches the unlock-then-flush order: the two addresses are placed
// so that a move's first PTE-table step carries exactly the area's first
// 32 pages, and 480 more pages (all mapped) move after that step's locks
// are dropped. With the flush deferred past the unlock, the truncater
// (waiting on that step's PTE lock, or arriving during the rest of the
// move) zaps a page at its new address, flushes the new address and frees
// the page while the readers still hold it at the old address, until the
// move's late flush. Truncating few pages at a
// time, and mostly while a move is under way, keeps most of the 32 mapped
// and cached, so the readers go on hitting them (instead of faulting and
// waiting for mmap_lock) through the move; moving on a minority of steps
// gives them time to cache the area again between moves.
//
// Two more places, C and D, are 2 MiB aligned: a move between them carries
// the area's one PTE table whole (move-ptes.ts moveNormalPmd), under the
// PMD lock and i_mmap, not the table's PTE lock. The truncater's rmap zap
// holds that PTE lock, having found the table at the old address: without
// i_mmap (CVE-2022-41222, injectable as mremap-pmd-no-rmap-lock) the table
// moves under it, and the table it lets go of is no longer linked where it
// flushed (sw-walk-moved-table). At tablePercent of its moves the mover
// goes to an aligned place: from C or D that is the other one (a table
// move), from A or B it is C (table by table, as A <-> B). So about
// tablePercent^2 of the moves carry a whole table, and every other move
// still carries the hot pages in its first step, after which the rest of
// the area moves.
//
// Options: the common ones (options.ts) with threads >= 3 and mode
// threads, and slice 32 by default (readers stay on their CPUs, TLBs warm,
// through a whole move, rather than giving way to the kernel thread every
// few ops); truncPages (2, 1..32), hotPercent (90), writePercent (5),
// truncatePercent (10), movePercent (10), tablePercent (50).

import { VM_READ, VM_SHARED, VM_WRITE } from '../../../native-layout/bits.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { FAULT_SIGSEGV } from '../../kernel/mm/fault.js';
import { sysMmap } from '../../kernel/mm/mmap.js';
import { sysMremap } from '../../kernel/mm/mremap.js';
import { truncateFileRange } from '../../kernel/mm/truncate.js';
import { userRead, userWrite } from '../../kernel/mm/uaccess.js';
import { taskMm, taskW } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import {
  CHUNK_PAGES, KIND_MREMAP_MOVER, KIND_MREMAP_READER, KIND_MREMAP_TRUNCATER, PAGE, USER_BASE_VPN, W_AUX0, W_AUX1, W_AUX2,
  W_ITER, W_PHASE, contentOf, mmDomain, readbackViolation, secretOf, setTw, tw,
} from './common.js';
import { setupMmMachine } from './machine.js';
import { type CommonOptions, ScenarioOptionError, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu } from './runner.js';
import { mmPrograms } from './tlb-flush2.js';

const NAME = 'mremap-truncate';
/** The shared file, mapped from page 0. */
const FILE = 0;
/** The area fills the file. */
const AREA_PAGES = 512;
/**
 * The two places. Both start 32 pages before a 2 MiB boundary (B two
 * tables further on): every move's first step is the area's first 32
 * pages, then 32 more, then the other 448.
 */
const LOC_A = USER_BASE_VPN + CHUNK_PAGES - 64;
const LOC_B = USER_BASE_VPN + 4 * CHUNK_PAGES - 32;
/** The two 2 MiB-aligned places: the area is one whole PTE table there. */
const LOC_C = USER_BASE_VPN + 5 * CHUNK_PAGES;
const LOC_D = USER_BASE_VPN + 6 * CHUNK_PAGES;
/** Speculation aims at the seven chunks the four places touch. */
const SPEC_CHUNKS = 7;
const READS_PER_STEP = 32;
/** The first step of every move: where the truncater works and the readers mostly read. */
const HOT_PAGES = 32;

// Task words. The mover's: where the area is, and the move sequence (odd
// while moving). Every thread's: the mover's tid.
const W_LOC = W_AUX0;
const W_SEQ = W_AUX1;
const W_MOVER = W_AUX2;

const PH_POPULATE = 0;
const PH_MOVE = 1;

interface MremapOptions extends CommonOptions {
  readonly truncPages: number;
  readonly hotPercent: number;
  readonly writePercent: number;
  readonly truncatePercent: number;
  readonly movePercent: number;
  readonly tablePercent: number;
}

function options(ctx: { options: ProgramCtx['options']; cpus: number }): MremapOptions {
  const o = ctx.options;
  const common = commonOptions(NAME, o, ctx.cpus, { threads: Math.max(3, ctx.cpus), slice: 32 });
  if (common.threads < 3) throw new ScenarioOptionError(`${NAME} option threads=${common.threads} is invalid: use 3 or more (a mover, a truncater, readers)`);
  if (common.mode !== 'threads') throw new ScenarioOptionError(`${NAME} option mode=${common.mode} is invalid: use threads (the threads share one mapping)`);
  return {
    ...common,
    pages: AREA_PAGES,
    truncPages: intOption(NAME, o, 'truncPages', 2, 1, HOT_PAGES),
    hotPercent: intOption(NAME, o, 'hotPercent', 90, 0, 100),
    writePercent: intOption(NAME, o, 'writePercent', 5, 0, 100),
    truncatePercent: intOption(NAME, o, 'truncatePercent', 10, 0, 100),
    movePercent: intOption(NAME, o, 'movePercent', 10, 0, 100),
    tablePercent: intOption(NAME, o, 'tablePercent', 50, 0, 100),
  };
}

/** The published location and sequence words of the mover. */
function locWord(k: KernelCtx, tid: number): number {
  return Atomics.load(k.task, taskW(tw(k, tid, W_MOVER), W_LOC));
}

function seqWord(k: KernelCtx, tid: number): number {
  return Atomics.load(k.task, taskW(tw(k, tid, W_MOVER), W_SEQ));
}

/** First step: map every page (so each move carries a full area), then move back and forth. */
function moverStep(k: KernelCtx, tid: number, cpu: MmCpu, o: MremapOptions): void {
  const mm = taskMm(k, tid);
  const loc = tw(k, tid, W_LOC);
  if (tw(k, tid, W_PHASE) === PH_POPULATE) {
    // No read-back: the truncater may already be emptying the first pages.
    const domain = mmDomain(k, mm);
    for (let i = 0; i < AREA_PAGES; i++) {
      if (userWrite(k, mm, (loc + i) * PAGE, domain, secretOf(tid, 0, i)) < 0) cpu.stats.oom++;
      cpu.stats.writes++;
    }
    setTw(k, tid, W_PHASE, PH_MOVE);
    return;
  }
  if (cpu.rng.below(100) >= o.movePercent) {
    readerStep(k, tid, cpu, o);
    return;
  }
  const to = nextPlace(loc, cpu.rng.below(100) < o.tablePercent);
  const seq = tw(k, tid, W_SEQ);
  Atomics.store(k.task, taskW(tid, W_SEQ), seq + 1);
  const r = sysMremap(k, mm, loc, AREA_PAGES, AREA_PAGES, to);
  if (r === 0) {
    Atomics.store(k.task, taskW(tid, W_LOC), to);
    if (isAligned(loc) && isAligned(to)) cpu.stats.tableMoves++;
  } else cpu.stats.oom++;
  Atomics.store(k.task, taskW(tid, W_SEQ), seq + 2);
  cpu.stats.mremaps++;
}

const isAligned = (loc: number): boolean => loc === LOC_C || loc === LOC_D;

/** Where the mover goes from loc: to an aligned place (C, or the other of C and D) or an unaligned one. */
function nextPlace(loc: number, aligned: boolean): number {
  if (aligned) return loc === LOC_C ? LOC_D : LOC_C;
  if (isAligned(loc)) return LOC_A;
  return loc === LOC_A ? LOC_B : LOC_A;
}

/** Truncates while the mover moves (the race), now and then otherwise; reads in between. */
function truncaterStep(k: KernelCtx, tid: number, cpu: MmCpu, o: MremapOptions): void {
  if ((seqWord(k, tid) & 1) === 0 && cpu.rng.below(100) >= o.truncatePercent) {
    readerStep(k, tid, cpu, o);
    return;
  }
  const from = cpu.rng.below(HOT_PAGES - o.truncPages + 1);
  truncateFileRange(k, FILE, from, from + o.truncPages);
  cpu.stats.truncates++;
}

/**
 * READS_PER_STEP accesses where the area is published. A segfault is
 * expected if a move was under way when we read the location, or has
 * begun since; it ends the burst (the next one reads the new location).
 */
function readerStep(k: KernelCtx, tid: number, cpu: MmCpu, o: MremapOptions): void {
  const mm = taskMm(k, tid);
  const domain = mmDomain(k, mm);
  const iter = tw(k, tid, W_ITER);
  setTw(k, tid, W_ITER, iter + 1);
  for (let n = 0; n < READS_PER_STEP; n++) {
    const seq = seqWord(k, tid);
    const loc = locWord(k, tid);
    const i = cpu.rng.below(100) < o.hotPercent ? cpu.rng.below(HOT_PAGES) : cpu.rng.below(AREA_PAGES);
    const va = (loc + i) * PAGE;
    const write = cpu.rng.below(100) < o.writePercent;
    const got = write ? userWrite(k, mm, va, domain, secretOf(tid, iter, i)) : userRead(k, mm, va);
    if (write) cpu.stats.writes++;
    else cpu.stats.reads++;
    if (got === FAULT_SIGSEGV) {
      if ((seq & 1) !== 0 || seqWord(k, tid) !== seq) cpu.stats.expectedSegv++;
      else cpu.stats.segv++;
      return;
    }
    if (got < 0) cpu.stats.oom++;
    else if (!write && got !== 0 && got >>> 16 !== domain) readbackViolation(k, tid, cpu.op, va, contentOf(domain, 0), got);
  }
}

const KINDS = [KIND_MREMAP_MOVER, KIND_MREMAP_TRUNCATER];

export const mremapTruncate: Scenario = {
  name: NAME,
  description: 'a thread mremaps a shared file mapping between four places, two moving its page table whole, while another truncates the file and the rest read it (CVE-2018-18281, CVE-2022-41222)',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('truncPages', 'hotPercent', 'writePercent', 'truncatePercent', 'movePercent', 'tablePercent'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx);
    let mover = -1;
    const plan = {
      threads: o.threads,
      kindOf: (i: number) => KINDS[i] ?? KIND_MREMAP_READER,
      init: (k: KernelCtx, tid: number, mm: number, i: number) => {
        if (i === 0) {
          const r = sysMmap(k, mm, LOC_A, AREA_PAGES, VM_READ | VM_WRITE | VM_SHARED, FILE, 0);
          if (r < 0) throw new ScenarioOptionError(`${NAME}: mmap of the shared file failed (${r})`);
          setTw(k, tid, W_LOC, LOC_A);
          setTw(k, tid, W_SEQ, 0);
          mover = tid;
        }
        setTw(k, tid, W_MOVER, mover);
      },
    };
    setupMmMachine(ctx, NAME, o, [plan], CHUNK_PAGES, SPEC_CHUNKS);
  },
  create(ctx: ProgramCtx): CpuProgram {
    const o = options(ctx);
    return new MmCpu(ctx, o, mmPrograms({
      [KIND_MREMAP_MOVER]: (k, tid, cpu) => moverStep(k, tid, cpu, o),
      [KIND_MREMAP_TRUNCATER]: (k, tid, cpu) => truncaterStep(k, tid, cpu, o),
      [KIND_MREMAP_READER]: (k, tid, cpu) => readerStep(k, tid, cpu, o),
    }));
  },
  endCheck: checkMachineAtEnd,
};
