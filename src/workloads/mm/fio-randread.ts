// fio-randread: fio's 4 KiB random read of a tmpfs file (rw=randread,
// bs=4k, ioengine=psync), the benchmark behind ASI's published cost (-70%
// with an exit on every read, -13.1% with the ephmap). Every thread reads
// random blocks of one shared file with read() (src/kernel/mm/read.ts) into
// its own one-page buffer and checks both what read() returned and what the
// buffer then holds against the file's known content. Page-cache pages are
// sensitive, so under ASI each read's copy from the direct map faults in the
// nonsensitive space and exits (PAGE_FAULT) unless an ephemeral map serves
// it; the syscall's return to user re-enters.
//
// Every discardEvery reads a thread drops its buffer (madvise DONTNEED, as
// a buffer pool returning memory), so the other CPUs of its mm take flush
// IPIs: interrupts that land anywhere, asi_exit's windows included.
//
// The defaults are the calibration's workload (README, "Calibration"):
// fio's psync job reuses one buffer and rarely yields its CPU, so buffer
// discards and kernel-thread switches are kept rare (one in 256 reads, 1%
// of reschedules) and readers stay on their CPU (migratePercent 0: a
// migration leaves one CPU idle and another time-sharing two readers, so
// the switch count would follow host timing); each of these costs an exit
// the real job does not take at that rate.
//
// Options: the common ones (threads = CPUs, kthreadPercent 1, migratePercent 0 by default),
// filePages (512: the file's size in pages, at most one page-cache file),
// readsPerOp (1: ops then count reads), discardEvery (256; 0 never),
// prefill (1: the file is in the page cache before the first read, as fio
// lays its file out before the job starts and a tmpfs file lives in the
// page cache; 0: each page is filled by its first read, so the run's first
// reads also pay for allocating and zeroing the cache), pin (1: each
// reader stays on the CPU it starts on, as fio's cpus_allowed; without it
// idle balancing moves readers between CPUs at host-timing-dependent
// moments, and each move is a switch, and under ASI an exit).

import { TASK_FREE, VM_READ, VM_WRITE } from '../../../native-layout/bits.js';
import { FILE_DISK, FILE_NR_PAGES, FILE_STRIDE, TASK_CPU, TASK_KIND, TASK_PINNED, TASK_STATE, TASK_STRIDE } from '../../../native-layout/fields.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { sysMadviseDontneed } from '../../kernel/mm/madvise.js';
import { sysMmap } from '../../kernel/mm/mmap.js';
import { filemapGetPage } from '../../kernel/mm/filemap.js';
import { putPage } from '../../kernel/mm/page-ref.js';
import { sysReadBlock } from '../../kernel/mm/read.js';
import { userRead } from '../../kernel/mm/uaccess.js';
import { taskMm } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, ScenarioOptions, SetupCtx } from '../program.js';
import { PAGE, W_AUX0, W_AUX1, W_ITER, W_REGION, contentOf, readbackViolation, secretOf, setTw, tw } from './common.js';
import { processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu, type TaskStep } from './runner.js';
import { mmPrograms } from './tlb-flush2.js';

const NAME = 'fio-randread';
/** Task kind of a reader (fio-randread's block of kinds starts at 30). */
export const KIND_FIO_READER = 30;
/** The file every reader reads. */
const FILE = 0;
/** Content domain of the file's data: no process pid gets this high. */
const FILE_DOMAIN = 0xfff0;
/** Task words: blocks to read per op; reads between two buffer discards. */
const W_READS_PER_OP = W_AUX0;
const W_DISCARD_EVERY = W_AUX1;
/** Reads per op when --option readsPerOp is not given (compare's readsPerSimSecond multiplies ops by it). */
export const FIO_DEFAULT_READS_PER_OP = 1;

interface FioOptions extends CommonOptions {
  readonly filePages: number;
  readonly readsPerOp: number;
  readonly discardEvery: number;
  readonly prefill: number;
  readonly pin: number;
}

function options(o: ScenarioOptions, cpus: number): FioOptions {
  return {
    ...commonOptions(NAME, o, cpus, { pages: 1, kthreadPercent: 1, migratePercent: 0, peekPercent: 0 }),
    filePages: intOption(NAME, o, 'filePages', FILE_NR_PAGES, 1, FILE_NR_PAGES),
    readsPerOp: intOption(NAME, o, 'readsPerOp', FIO_DEFAULT_READS_PER_OP, 1, 1024),
    discardEvery: intOption(NAME, o, 'discardEvery', 256, 0, 1_000_000),
    prefill: intOption(NAME, o, 'prefill', 1, 0, 1),
    pin: intOption(NAME, o, 'pin', 1, 0, 1),
  };
}

/**
 * One read() of block `index` of `file` into the user buffer at `buf`,
 * checked twice: the value read() returned and what the buffer then holds
 * must both be the block's known content (a readback violation otherwise).
 * False when the read failed for lack of memory (counted).
 */
export function readBlockChecked(k: KernelCtx, tid: number, cpu: MmCpu, mm: number, file: number, index: number, buf: number): boolean {
  const want = fileBlockContent(index);
  const got = sysReadBlock(k, mm, file, index, buf);
  cpu.stats.reads++;
  if (got < 0) {
    cpu.stats.oom++;
    return false;
  }
  if (got !== want) readbackViolation(k, tid, cpu.op, buf, want, got);
  const inBuf = userRead(k, mm, buf);
  if (inBuf >= 0 && inBuf !== want) readbackViolation(k, tid, cpu.op, buf, want, inBuf);
  return true;
}

/** What page `index` of the file holds: set at set-up, never written. */
export function fileBlockContent(index: number): number {
  return contentOf(FILE_DOMAIN, secretOf(FILE, index, 0x51));
}

/** The file's backing store at set-up: every block of the first `pages` has known, non-zero content. */
export function fioDiskInit(k: KernelCtx, pages: number): void {
  for (let i = 0; i < pages; i++) k.views.file[FILE * FILE_STRIDE + FILE_DISK + i] = fileBlockContent(i) | 0;
}

/**
 * Brings pages [0, pages) of the file into the page cache at set-up (fio's
 * layout step), before the counters start: the cache keeps its own
 * reference, the lookup's is dropped.
 */
export function fioPrefill(k: KernelCtx, pages: number): void {
  for (let i = 0; i < pages; i++) {
    const pfn = filemapGetPage(k, FILE, i);
    if (pfn < 0) throw new Error(`${NAME}: no memory to prefill page ${i} of the file (${pfn})`);
    putPage(k, pfn);
  }
}

/** Pins every reader to the CPU whose queue it was put on at set-up (stealTask skips pinned tasks). */
function pinReaders(k: KernelCtx): void {
  for (let tid = 0; tid < k.maxTasks; tid++) {
    const at = tid * TASK_STRIDE;
    if (k.task[at + TASK_STATE] !== TASK_FREE && k.task[at + TASK_KIND] === KIND_FIO_READER) {
      k.task[at + TASK_PINNED] = k.task[at + TASK_CPU]!;
    }
  }
}

/** One op: readsPerOp random 4 KiB reads, each checked twice (return value, buffer). */
export function fioReadStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const mm = taskMm(k, tid);
  const buf = tw(k, tid, W_REGION) * PAGE;
  const n = tw(k, tid, W_READS_PER_OP);
  const discardEvery = tw(k, tid, W_DISCARD_EVERY);
  const filePages = tw(k, tid, W_ITER) >>> 16;
  for (let r = 0; r < n; r++) {
    if (!readBlockChecked(k, tid, cpu, mm, FILE, cpu.rng.below(filePages), buf)) continue;
    const done = (tw(k, tid, W_ITER) & 0xffff) + 1;
    if (discardEvery > 0 && done >= discardEvery) {
      sysMadviseDontneed(k, mm, tw(k, tid, W_REGION), 1);
      cpu.stats.madvises++;
      setTw(k, tid, W_ITER, filePages << 16);
    } else {
      setTw(k, tid, W_ITER, (filePages << 16) | done);
    }
  }
}

const PROGRAMS = mmPrograms({ [KIND_FIO_READER]: fioReadStep });

export const fioRandread: Scenario = {
  name: NAME,
  description: 'threads read() random 4 KiB blocks of a tmpfs file and check what they read (fio randread; ASI exits on every read without an ephemeral map)',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('filePages', 'readsPerOp', 'discardEvery', 'prefill', 'pin'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx.options, ctx.cpus);
    const { procs, threads } = processShape(o);
    const plans = Array.from({ length: procs }, () => ({
      threads,
      kindOf: () => KIND_FIO_READER,
      init: (k: KernelCtx, tid: number, mm: number) => {
        const r = sysMmap(k, mm, tw(k, tid, W_REGION), 1, VM_READ | VM_WRITE);
        if (r < 0) throw new Error(`${NAME}: mmap of a reader's buffer failed (${r})`);
        setTw(k, tid, W_READS_PER_OP, o.readsPerOp);
        setTw(k, tid, W_DISCARD_EVERY, o.discardEvery);
        setTw(k, tid, W_ITER, o.filePages << 16);
      },
    }));
    const k = setupMmMachine(ctx, NAME, o, plans, 1, threads, (kk) => {
      fioDiskInit(kk, o.filePages);
      if (o.prefill === 1) fioPrefill(kk, o.filePages);
    });
    if (o.pin === 1) pinReaders(k);
  },
  create(ctx: ProgramCtx): CpuProgram {
    return new MmCpu(ctx, options(ctx.options, ctx.cpus), PROGRAMS as (TaskStep | undefined)[]);
  },
  endCheck: checkMachineAtEnd,
};
