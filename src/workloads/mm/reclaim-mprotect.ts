// reclaim-mprotect: page-cache reclaim with batched TLB flushes against
// mprotect (the race of 3ea277194daa, reported by Nadav Amit).
//
// The threads of one process (threads mode) share a MAP_SHARED mapping of
// a page-cache file. A kswapd kernel thread, bound to the last CPU and
// lazy there, keeps shrinking that file: it unmaps pages from the process
// with the flushes deferred into its batch while other CPUs run the mm,
// writes dirty ones back and evicts clean ones (src/kernel/mm/vmscan.ts).
//
// - Every thread, each step, writes the first protPages pages (the
//   "protected" range, written by all) and its own pages of the rest (page
//   j belongs to thread (j - protPages) mod threads), reading each of its
//   own back: it must read exactly what it wrote, whether or not reclaim
//   wrote it back and evicted it in between (the file keeps the data).
// - Thread 0 also, every few steps, mprotect(PROT_READ)s the protected
//   range and then publishes an odd epoch; holdSteps steps later it
//   publishes the next (even) epoch and only then mprotect(PROT_READ |
//   PROT_WRITE)s it back. A thread that loaded an odd epoch before its
//   write and the same epoch after it saw the whole write happen while the
//   range was read-only: if the write went through instead of faulting, a
//   writable TLB entry survived the downgrade (write-after-downgrade).
//
// The protected range is what reclaim's batch endangers: threads write it
// all the time, so their TLBs hold writable, dirty entries; reclaim clears
// its PTE and defers the flush; mprotect then finds the PTE none and has
// nothing of its own to flush, and only flush_tlb_batched_pending in its
// PTE walker stands between that entry and a write after the downgrade
// (injectable as reclaim-batch-vs-mprotect).
//
// Options (besides the common ones): pages (16) of the mapping, protPages
// (1), holdSteps (2) the range stays read-only, rwSteps (1) it stays
// writable, reclaimPages (pages, at most 32) per kswapd pass, ioUs (20) host
// microseconds of simulated I/O per writeback. threads defaults to the CPU
// count minus one (kswapd has the last CPU to itself), migratePercent to 0
// and kthreadPercent to 5.

import { VM_READ, VM_SHARED, VM_WRITE } from '../../../native-layout/bits.js';
import { V_WRITE_AFTER_DOWNGRADE, reportViolation } from '../../check/oracle.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { FAULT_SIGSEGV } from '../../kernel/mm/fault.js';
import { sysMmap } from '../../kernel/mm/mmap.js';
import { sysMprotect } from '../../kernel/mm/mprotect.js';
import { userRead, userWrite } from '../../kernel/mm/uaccess.js';
import { taskMm, taskW } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import {
  KIND_KSWAPD, KIND_RECLAIM_PROTECTOR, KIND_RECLAIM_WRITER, PAGE, W_AUX0, W_AUX1, W_AUX2, W_INDEX, W_ITER, W_NTHREADS,
  W_PAGES, W_PHASE, chunkVpn, contentOf, mmDomain, readbackViolation, secretOf, setTw, tw,
} from './common.js';
import { KswapdCpu, createKswapd, kswapdStep } from './kswapd.js';
import { setupMmMachine } from './machine.js';
import { type CommonOptions, ScenarioOptionError, commonOptions, intOption, mmOptionNames } from './options.js';
import type { MmCpu, TaskStep } from './runner.js';
import { mmPrograms } from './tlb-flush2.js';

const NAME = 'reclaim-mprotect';
const FILE = 0;

// Task words: the protector's epoch (odd: read-only) lives in its W_AUX0;
// every thread keeps the protector's tid in W_AUX1 and protPages in W_AUX2.
const W_EPOCH = W_AUX0;
const W_PROTECTOR = W_AUX1;
const W_PROT_PAGES = W_AUX2;

// The protector's W_PHASE: steps left in the phase << 1 | the phase.
const PH_RW = 0;
const PH_RO = 1;

interface Options extends CommonOptions {
  readonly protPages: number;
  readonly holdSteps: number;
  readonly rwSteps: number;
  readonly reclaimPages: number;
  readonly ioUs: number;
}

function options(ctx: { options: ProgramCtx['options']; cpus: number }): Options {
  const o = ctx.options;
  // Threads stay on their CPUs (migratePercent 0) and the per-CPU kernel
  // thread rarely interrupts them (kthreadPercent 5): a thread that moves,
  // or switches out and back in after a generation bump, refills its TLB,
  // and the stale writable entries the race is about are what it keeps.
  const common = commonOptions(NAME, o, ctx.cpus, { threads: Math.max(2, ctx.cpus - 1), migratePercent: 0, kthreadPercent: 5 });
  if (common.mode !== 'threads' || common.procs !== 1) {
    throw new ScenarioOptionError(`${NAME}: mode=${common.mode} procs=${common.procs} is invalid: the scenario is one process's threads (mode=threads, procs=1)`);
  }
  if (common.threads < 2) throw new ScenarioOptionError(`${NAME} option threads=${common.threads} is invalid: use an integer in 2..64`);
  const protPages = intOption(NAME, o, 'protPages', 1, 1, 32);
  if (protPages >= common.pages) {
    throw new ScenarioOptionError(`${NAME} option protPages=${protPages} is invalid: use fewer than pages=${common.pages}`);
  }
  return {
    ...common,
    protPages,
    holdSteps: intOption(NAME, o, 'holdSteps', 2, 1, 1000),
    rwSteps: intOption(NAME, o, 'rwSteps', 1, 1, 1000),
    reclaimPages: intOption(NAME, o, 'reclaimPages', Math.min(common.pages, 32), 1, 32),
    ioUs: intOption(NAME, o, 'ioUs', 20, 0, 100_000),
  };
}

/** The protected range: every thread writes it; after a downgrade the write must fault. */
function writeProtected(k: KernelCtx, tid: number, cpu: MmCpu, mm: number, base: number, domain: number): void {
  const epochAt = taskW(tw(k, tid, W_PROTECTOR), W_EPOCH);
  const prot = tw(k, tid, W_PROT_PAGES);
  const iter = tw(k, tid, W_ITER);
  for (let i = 0; i < prot; i++) {
    const va = (base + i) * PAGE;
    const e1 = Atomics.load(k.task, epochAt);
    const r = userWrite(k, mm, va, domain, secretOf(tid, iter, i));
    cpu.stats.writes++;
    if (r === FAULT_SIGSEGV) {
      // Read-only, or becoming so: mprotect may be running right now.
      cpu.stats.expectedSegv++;
    } else if (r < 0) {
      cpu.stats.oom++;
    } else if ((e1 & 1) !== 0) {
      const e2 = Atomics.load(k.task, epochAt);
      if (e2 === e1) reportViolation(k.views, k.cpu, V_WRITE_AFTER_DOWNGRADE, va, r, e1, e2, tid, cpu.op);
    }
  }
}

/** This thread's own pages: written and read back exactly (reclaim may write them back and evict them in between). */
function touchOwn(k: KernelCtx, tid: number, cpu: MmCpu, mm: number, base: number, domain: number): void {
  const prot = tw(k, tid, W_PROT_PAGES);
  const pages = tw(k, tid, W_PAGES);
  const me = tw(k, tid, W_INDEX);
  const n = tw(k, tid, W_NTHREADS);
  const iter = tw(k, tid, W_ITER);
  for (let j = prot + me; j < pages; j += n) {
    const va = (base + j) * PAGE;
    const want = contentOf(domain, secretOf(tid, iter, j));
    const w = userWrite(k, mm, va, domain, want & 0xffff);
    cpu.stats.writes++;
    if (w < 0) {
      if (w === FAULT_SIGSEGV) cpu.stats.segv++;
      else cpu.stats.oom++;
      continue;
    }
    const got = userRead(k, mm, va);
    cpu.stats.reads++;
    if (got >= 0 && got !== want) readbackViolation(k, tid, cpu.op, va, want, got);
  }
  // A page of anyone's: zero (never written, or a hole) or this process's data.
  const j = cpu.rng.below(pages);
  const got = userRead(k, mm, (base + j) * PAGE);
  cpu.stats.peeks++;
  if (got > 0 && (got >>> 16) !== domain) readbackViolation(k, tid, cpu.op, (base + j) * PAGE, contentOf(domain, 0), got);
}

export function reclaimWriterStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const mm = taskMm(k, tid);
  const base = chunkVpn(0);
  const domain = mmDomain(k, mm);
  writeProtected(k, tid, cpu, mm, base, domain);
  touchOwn(k, tid, cpu, mm, base, domain);
  setTw(k, tid, W_ITER, tw(k, tid, W_ITER) + 1);
}

/**
 * Thread 0: a writer that also flips the protected range. The epoch is
 * published after mprotect(PROT_READ) returns and before
 * mprotect(PROT_READ | PROT_WRITE) starts, so an odd epoch seen on both
 * sides of a write brackets a time the range was read-only throughout.
 */
export function reclaimProtectorStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  if (!(cpu instanceof ReclaimMprotectCpu)) throw new Error(`${NAME} protector ${tid} runs on a CPU of another scenario`);
  const o = cpu.scenarioOpts;
  const mm = taskMm(k, tid);
  const base = chunkVpn(0);
  const epochAt = taskW(tid, W_EPOCH);
  reclaimWriterStep(k, tid, cpu);
  const state = tw(k, tid, W_PHASE);
  const phase = state & 1;
  const left = state >>> 1;
  if (left > 0) {
    setTw(k, tid, W_PHASE, ((left - 1) << 1) | phase);
    return;
  }
  if (phase === PH_RW) {
    const r = sysMprotect(k, mm, base, o.protPages, VM_READ);
    if (r < 0) throw new Error(`${NAME}: mprotect(PROT_READ) of the protected range failed (${r})`);
    Atomics.add(k.task, epochAt, 1);
    setTw(k, tid, W_PHASE, (o.holdSteps << 1) | PH_RO);
  } else {
    Atomics.add(k.task, epochAt, 1);
    const r = sysMprotect(k, mm, base, o.protPages, VM_READ | VM_WRITE);
    if (r < 0) throw new Error(`${NAME}: mprotect(PROT_READ | PROT_WRITE) of the protected range failed (${r})`);
    setTw(k, tid, W_PHASE, (o.rwSteps << 1) | PH_RW);
  }
}

class ReclaimMprotectCpu extends KswapdCpu {
  constructor(ctx: ProgramCtx, readonly scenarioOpts: Options) {
    super(ctx, scenarioOpts, PROGRAMS, scenarioOpts.ioUs);
  }
}

const PROGRAMS: (TaskStep | undefined)[] = mmPrograms({
  [KIND_RECLAIM_WRITER]: reclaimWriterStep,
  [KIND_RECLAIM_PROTECTOR]: reclaimProtectorStep,
  [KIND_KSWAPD]: kswapdStep,
});

export const reclaimMprotect: Scenario = {
  name: NAME,
  description: 'threads write a shared file mapping while kswapd evicts it with batched flushes and one thread mprotects part of it read-only and back',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('protPages', 'holdSteps', 'rwSteps', 'reclaimPages', 'ioUs'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx);
    let protector = -1;
    const plan = {
      threads: o.threads,
      kindOf: (i: number) => (i === 0 ? KIND_RECLAIM_PROTECTOR : KIND_RECLAIM_WRITER),
      init: (k: KernelCtx, tid: number, mm: number, i: number) => {
        if (i === 0) {
          protector = tid;
          const r = sysMmap(k, mm, chunkVpn(0), o.pages, VM_READ | VM_WRITE | VM_SHARED, FILE, 0);
          if (r < 0) throw new ScenarioOptionError(`${NAME}: mmap of the shared file failed (${r})`);
        }
        setTw(k, tid, W_PROTECTOR, protector);
        setTw(k, tid, W_PROT_PAGES, o.protPages);
      },
    };
    const k = setupMmMachine(ctx, NAME, o, [plan], o.pages, 1);
    if (createKswapd(k, ctx.cpus - 1, FILE, 0, o.pages, o.reclaimPages) < 0) {
      throw new ScenarioOptionError(`${NAME}: no task slot left for kswapd: use fewer threads`);
    }
  },
  create(ctx: ProgramCtx): CpuProgram {
    return new ReclaimMprotectCpu(ctx, options(ctx));
  },
  endCheck: checkMachineAtEnd,
};
