// shared-file-writeback (issue 11): the paths dirty-bit bugs live between.
// Several processes (procs, default 2) of several threads (threads, default
// 2, or more with more CPUs) map one page-cache file MAP_SHARED at the same
// address; a kswapd kernel thread on the last CPU keeps shrinking the file
// (unmap with batched flushes, write back the dirty pages, evict the clean
// ones: src/kernel/mm/vmscan.ts); khugepaged retracts the PTE tables the
// discards empty.
//
// Page j of the file belongs to writer j mod W (W writers over all
// processes). Every step a writer writes each of its pages a new value and
// reads it back; now and then (zapPercent) it madvise(MADV_DONTNEED)s the
// whole mapping in its process first, which clears the other threads' dirty
// PTEs under them (zap_pte_range: the dirty bit moves to the page). A page
// must read back exactly what its writer last wrote, whether it stayed in
// the cache or went to the file and came back. The classic way to lose the
// write: the zap clears a dirty PTE and drops the PTE lock before its TLB
// flush; kswapd, taking that lock next, finds the page unmapped and dirty,
// writes it back and evicts it as clean, while another thread still writes
// through its stale dirty TLB entry (1cf35d47712d, page_mkclean's family;
// injectable as zap-dirty-flush-after-unlock). kswapd's rmap walk also goes
// into every process's PTE table for each page, mapped or not, so a
// retraction that frees a table without the walker's lock is met here
// (retract-no-pte-lock).
//
// With verifyBefore=1 (the default) each writer first checks that its
// pages still hold the previous step's values (the data read back after
// writeout): that is what sees a lost write, and it catches
// zap-dirty-flush-after-unlock. It was off by default while the unmodified
// kernel lost a write about 7 times a minute under it: a fault mapped the
// page behind reclaim's rmap walk, the task wrote it, a discard cleared the
// dirty PTE with its flush still in flight, and reclaim wrote the page back
// and evicted it as clean. The folio lock (src/kernel/mm/folio-lock.ts)
// closed that, as in Linux. verifyBefore=0 leaves only the read-back of
// each write.
//
// Options: the common ones, with pages (32, or one per writer if more) of the file, procs (2),
// threads per process (max(2, (CPUs - 1) / procs)), zapPercent (10), verifyBefore (1),
// reclaimPages (32) per kswapd pass, ioUs (20) host microseconds per
// writeback, khugepagedPercent (20), kthreadPercent (10), migratePercent 0.

import { VM_READ, VM_SHARED, VM_WRITE } from '../../../native-layout/bits.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { FAULT_SIGSEGV } from '../../kernel/mm/fault.js';
import { sysMadviseDontneed } from '../../kernel/mm/madvise.js';
import { sysMmap } from '../../kernel/mm/mmap.js';
import { userRead, userWrite } from '../../kernel/mm/uaccess.js';
import { taskMm } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import {
  KIND_KSWAPD, KIND_SFW_WRITER, PAGE, W_AUX0, W_AUX1, W_AUX2, W_ITER, W_PAGES, chunkVpn, contentOf, mmDomain, readbackViolation,
  secretOf, setTw, tw,
} from './common.js';
import { KswapdCpu, createKswapd, kswapdStep } from './kswapd.js';
import { setupMmMachine, setupMmapError } from './machine.js';
import { type CommonOptions, ScenarioOptionError, commonOptions, intOption, mmOptionNames } from './options.js';
import type { MmCpu, TaskStep } from './runner.js';
import { mmPrograms } from './tlb-flush2.js';

const NAME = 'shared-file-writeback';
const FILE = 0;

// Task words: the writer's index over all processes, and the writer count.
const W_WRITER = W_AUX0;
const W_WRITERS = W_AUX1;
/** zapPercent, with VERIFY_BEFORE or-ed in. */
const W_ZAP = W_AUX2;
const ZAP_MASK = 0xff;
const VERIFY_BEFORE = 0x100;

interface Options extends CommonOptions {
  readonly zapPercent: number;
  readonly verifyBefore: number;
  readonly reclaimPages: number;
  readonly ioUs: number;
}

function options(ctx: { options: ProgramCtx['options']; cpus: number }): Options {
  const o = ctx.options;
  const procs = intOption(NAME, o, 'procs', 2, 1, 8);
  const threads = Math.max(2, Math.floor((ctx.cpus - 1) / procs));
  // Every writer owns at least one page of the file: the default grows with the CPUs.
  const common = commonOptions(NAME, o, ctx.cpus, {
    procs, threads, pages: Math.max(32, procs * threads), migratePercent: 0, kthreadPercent: 10,
    khugepagedPercent: 20,
  });
  if (common.mode !== 'threads') throw new ScenarioOptionError(`${NAME}: mode=${common.mode} is invalid: the scenario is procs processes of threads each (mode=threads)`);
  if (common.procs * common.threads > common.pages) {
    throw new ScenarioOptionError(`${NAME}: ${common.procs * common.threads} writers need at least as many pages: pages=${common.pages} is too few`);
  }
  return {
    ...common,
    zapPercent: intOption(NAME, o, 'zapPercent', 10, 0, 100),
    verifyBefore: intOption(NAME, o, 'verifyBefore', 1, 0, 1),
    reclaimPages: intOption(NAME, o, 'reclaimPages', Math.min(common.pages, 32), 1, 32),
    ioUs: intOption(NAME, o, 'ioUs', 20, 0, 100_000),
  };
}

/**
 * One writer step: with verifyBefore, check that each own page still holds
 * the previous step's value (it may have been written back, evicted and
 * read in again since: the data read back after writeout), maybe discard the mapping,
 * then write each own page a new value and read it back.
 */
export function sfwWriterStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const mm = taskMm(k, tid);
  const base = chunkVpn(0);
  const pages = tw(k, tid, W_PAGES);
  const me = tw(k, tid, W_WRITER);
  const writers = tw(k, tid, W_WRITERS);
  const iter = tw(k, tid, W_ITER);
  const domain = mmDomain(k, mm);
  if (iter > 0 && (tw(k, tid, W_ZAP) & VERIFY_BEFORE) !== 0) {
    for (let j = me; j < pages; j += writers) {
      const va = (base + j) * PAGE;
      const want = contentOf(domain, secretOf(tid, iter - 1, j));
      const got = userRead(k, mm, va);
      cpu.stats.reads++;
      if (got >= 0 && got !== want) readbackViolation(k, tid, cpu.op, va, want, got);
    }
  }
  if (cpu.rng.below(100) < (tw(k, tid, W_ZAP) & ZAP_MASK)) {
    const r = sysMadviseDontneed(k, mm, base, pages);
    if (r < 0) throw new Error(`${NAME}: madvise(DONTNEED) of the shared mapping failed (${r})`);
    cpu.stats.madvises++;
  }
  for (let j = me; j < pages; j += writers) {
    const va = (base + j) * PAGE;
    const want = contentOf(domain, secretOf(tid, iter, j));
    const w = userWrite(k, mm, va, domain, want & 0xffff);
    cpu.stats.writes++;
    if (w < 0) {
      // The next step's check expects this write: a failed one is the
      // machine running out of memory, which the scenario is sized against.
      throw new Error(`${NAME}: a write to the shared mapping failed (${w === FAULT_SIGSEGV ? 'SIGSEGV' : 'ENOMEM'})`);
    }
    const got = userRead(k, mm, va);
    cpu.stats.reads++;
    if (got >= 0 && got !== want) readbackViolation(k, tid, cpu.op, va, want, got);
  }
  // Someone else's page: the hardware caches a translation other writers'
  // discards and kswapd's unmaps must reach (the value is theirs to check).
  userRead(k, mm, (base + cpu.rng.below(pages)) * PAGE);
  cpu.stats.peeks++;
  setTw(k, tid, W_ITER, iter + 1);
}

class SharedFileWritebackCpu extends KswapdCpu {
  constructor(ctx: ProgramCtx, o: Options) {
    super(ctx, o, PROGRAMS, o.ioUs);
  }
}

const PROGRAMS: (TaskStep | undefined)[] = mmPrograms({ [KIND_SFW_WRITER]: sfwWriterStep, [KIND_KSWAPD]: kswapdStep });

export const sharedFileWriteback: Scenario = {
  name: NAME,
  description: 'processes of threads write one MAP_SHARED file and discard it while kswapd writes back and evicts it; every page reads back its last write',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('zapPercent', 'verifyBefore', 'reclaimPages', 'ioUs'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx);
    const writers = o.procs * o.threads;
    const plans = Array.from({ length: o.procs }, (_, p) => ({
      threads: o.threads,
      kindOf: () => KIND_SFW_WRITER,
      init: (k: KernelCtx, tid: number, mm: number, i: number) => {
        if (i === 0) {
          const r = sysMmap(k, mm, chunkVpn(0), o.pages, VM_READ | VM_WRITE | VM_SHARED, FILE, 0);
          if (r < 0) throw setupMmapError(NAME, 'the shared file', r, k);
        }
        setTw(k, tid, W_WRITER, p * o.threads + i);
        setTw(k, tid, W_WRITERS, writers);
        setTw(k, tid, W_ZAP, o.zapPercent | (o.verifyBefore !== 0 ? VERIFY_BEFORE : 0));
      },
    }));
    const k = setupMmMachine(ctx, NAME, o, plans, o.pages, 1);
    if (createKswapd(k, ctx.cpus - 1, FILE, 0, o.pages, o.reclaimPages) < 0) {
      throw new ScenarioOptionError(`${NAME}: no task slot left for kswapd: use fewer threads or procs`);
    }
  },
  create(ctx: ProgramCtx): CpuProgram {
    return new SharedFileWritebackCpu(ctx, options(ctx));
  },
  endCheck: checkMachineAtEnd,
};
