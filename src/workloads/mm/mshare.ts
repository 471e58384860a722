// mshare (issue 8): procs processes attach one mshare region (a host mm's
// page tables, shared at the PUD level: src/kernel/mshare) and their threads
// touch it; thread 0 of process 0 owns the region and keeps changing it
// (discarding ranges: PTEs cleared, frames freed; taking write away from a
// piece and giving it back), and thread 0 of process 1 drives an IOMMU-like
// device bound to its mm with SVA, reading the region through the device's
// own IOTLB (src/hw/iommu.ts), which only that mm's mmu notifiers
// invalidate.
//
// Asserts (besides the inline oracle, which is the point: a client CPU's
// TLB or the device's IOTLB using a frame freed since its fill): each page
// of the region belongs to one toucher (page p to writer p mod writers),
// which reads back what it wrote or zero (the owner discarded it in
// between); a write into a piece whose mprotect(PROT_READ) returned, with
// no grant since, faults (else `write-after-downgrade`: a client CPU kept a
// writable entry the downgrade's flush missed); at the end no IOTLB entry
// translates to a freed frame.
//
// Options (besides the common ones): strategy=flush-all|union|per-client
// (the TLB flush of a host change: src/kernel/mshare/flush.ts),
// regionPages (256), pieces (8: host areas, each protected as a whole),
// touch (8 pages per op), iommu (1: bind a device to process 1), zapMax
// (16: most pages one discard takes).

import { VM_READ, VM_WRITE } from '../../../native-layout/bits.js';
import { MM_SPEC_CHUNKS, MM_SPEC_PAGES, MM_SPEC_START, MM_STRIDE } from '../../../native-layout/fields.js';
import { type MachineCheck, checkMachineAtEnd } from '../../check/machine-check.js';
import { V_WRITE_AFTER_DOWNGRADE, reportViolation } from '../../check/oracle.js';
import type { MachineMemory } from '../../../native-layout/memory.js';
import { IOMMU_DEVICES } from '../../../native-layout/regions.js';
import { iommuBoundMm, iommuReset, iommuStaleEntries } from '../../hw/iommu.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { FAULT_SIGSEGV } from '../../kernel/mm/fault.js';
import { userRead, userWrite } from '../../kernel/mm/uaccess.js';
import { iommuSvaBindDevice, iommuSvaInitThread, iommuSvaRead } from '../../kernel/mmu_notifier/iommu-sva.js';
import { mmuNotifierReset } from '../../kernel/mmu_notifier/notifier.js';
import { mshareProtect, mshareZapRange } from '../../kernel/mshare/change.js';
import { MSHARE_STRATEGY_NAMES, mshareInitThread } from '../../kernel/mshare/flush.js';
import { MSHARE_ALIGN_PAGES, mshareAttach, mshareCreate, mshareMapHost, mshareReset } from '../../kernel/mshare/region.js';
import { taskMm, taskW } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import {
  KIND_KTHREAD, KIND_MSHARE_DMA, KIND_MSHARE_OWNER, KIND_MSHARE_TOUCH, PAGE, USER_BASE_VPN, W_AUX0, W_AUX1, W_AUX2,
  W_ITER, W_PAGES, W_PHASE, contentOf, mmDomain, readbackViolation, secretOf, setTw, tw,
} from './common.js';
import { kthreadStep } from './kthread.js';
import { processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, ScenarioOptionError, choiceOption, commonOptions, intOption, mmOptionNames } from './options.js';
import { MSHARE_DEFAULT_STRATEGY } from '../../report/scenario-counters.js';
import { MmCpu, type TaskStep } from './runner.js';

const NAME = 'mshare';
/** The region: 1 GiB above the threads' chunks, 1 GiB aligned (one PMD table). */
export const MSHARE_BASE_VPN = USER_BASE_VPN + MSHARE_ALIGN_PAGES;
const REGION = 0;
const DEVICE = 0;
/** Task words: the thread's writer index and the writer count; the owner's task id. */
const W_WRITER = W_AUX0;
const W_WRITERS = W_AUX1;
const W_OWNER = W_PAGES;
/**
 * The owner's words, read by every toucher: the pieces whose write right
 * was taken away and whose mprotect returned (bitmask), and a grant epoch
 * bumped before each piece gets write back.
 */
const W_RO_PIECES = W_AUX2;
const W_GRANT_EPOCH = W_PHASE;

interface MshareOptions extends CommonOptions {
  readonly strategy: (typeof MSHARE_STRATEGY_NAMES)[number];
  readonly regionPages: number;
  readonly pieces: number;
  readonly touch: number;
  readonly iommu: number;
  readonly zapMax: number;
}

function options(ctx: { options: ProgramCtx['options']; cpus: number }): MshareOptions {
  const o = ctx.options;
  const common = commonOptions(NAME, o, ctx.cpus, { procs: 4, threads: Math.max(2, Math.ceil(ctx.cpus / 4)), pages: 8 });
  const regionPages = intOption(NAME, o, 'regionPages', 256, 8, 2048);
  const pieces = intOption(NAME, o, 'pieces', 8, 1, 30);
  if (regionPages % pieces !== 0) {
    throw new ScenarioOptionError(`${NAME} option pieces=${pieces} is invalid: it must divide regionPages=${regionPages}`);
  }
  const out: MshareOptions = {
    ...common,
    strategy: choiceOption(NAME, o, 'strategy', MSHARE_DEFAULT_STRATEGY, MSHARE_STRATEGY_NAMES),
    regionPages,
    pieces,
    touch: intOption(NAME, o, 'touch', 8, 1, 64),
    iommu: intOption(NAME, o, 'iommu', 1, 0, 1),
    zapMax: intOption(NAME, o, 'zapMax', 16, 1, 512),
  };
  const { procs } = processShape(out);
  if (out.iommu === 1 && procs < 2) {
    const which = out.mode === 'threads' ? `procs=${out.procs}` : `threads=${out.threads}`;
    throw new ScenarioOptionError(`${NAME} option ${which} is invalid with iommu=1: it must give at least 2 processes (process 1 drives the device), or set iommu=0`);
  }
  return out;
}

/** Page vpn of the region (i in 0..regionPages-1). */
function regionVpn(i: number): number {
  return MSHARE_BASE_VPN + i;
}

/** A toucher: touch `touch` random pages; its own are written and read back, the others read. */
function touchStep(k: KernelCtx, tid: number, cpu: MmCpu, o: MshareOptions): void {
  const mm = taskMm(k, tid);
  const domain = mmDomain(k, mm);
  const me = tw(k, tid, W_WRITER);
  const writers = tw(k, tid, W_WRITERS);
  const iter = tw(k, tid, W_ITER);
  for (let j = 0; j < o.touch; j++) {
    const p = cpu.rng.below(o.regionPages);
    const va = regionVpn(p) * PAGE;
    if (p % writers === me) {
      const secret = secretOf(tid, iter, p);
      // A piece whose mprotect(PROT_READ) returned before this write, with
      // no grant since, must refuse it: a write that goes through used a
      // writable entry the downgrade's flush missed on this CPU.
      const owner = tw(k, tid, W_OWNER);
      const epoch0 = Atomics.load(k.task, taskW(owner, W_GRANT_EPOCH));
      const ro = (Atomics.load(k.task, taskW(owner, W_RO_PIECES)) >>> Math.floor(p / (o.regionPages / o.pieces))) & 1;
      const w = userWrite(k, mm, va, domain, secret);
      cpu.stats.writes++;
      if (w < 0) {
        // A piece the owner made read-only.
        if (w === FAULT_SIGSEGV) cpu.stats.expectedSegv++;
        else cpu.stats.oom++;
        continue;
      }
      if (ro !== 0) {
        const epoch1 = Atomics.load(k.task, taskW(owner, W_GRANT_EPOCH));
        if (epoch1 === epoch0) reportViolation(k.views, k.cpu, V_WRITE_AFTER_DOWNGRADE, va, w, epoch0, epoch1, tid, cpu.op);
      }
      const got = userRead(k, mm, va);
      cpu.stats.reads++;
      const want = contentOf(domain, secret);
      // Zero: the owner discarded the page between our write and read.
      if (got >= 0 && got !== want && got !== 0) readbackViolation(k, tid, cpu.op, va, want, got);
    } else {
      const got = userRead(k, mm, va);
      cpu.stats.reads++;
      if (got < 0) cpu.stats.oom++;
    }
  }
  setTw(k, tid, W_ITER, iter + 1);
}

/** The owner: one change to the region per op (a discard, or a piece's write right taken or given back), then a touch. */
function ownerStep(k: KernelCtx, tid: number, cpu: MmCpu, o: MshareOptions): void {
  const pieceSize = o.regionPages / o.pieces;
  if (cpu.rng.below(100) < 70) {
    const start = cpu.rng.below(o.regionPages);
    const pages = 1 + cpu.rng.below(Math.min(o.zapMax, o.regionPages - start));
    mshareZapRange(k, REGION, regionVpn(start), pages);
    cpu.stats.madvises++;
  } else {
    const piece = cpu.rng.below(o.pieces);
    const roAt = taskW(tid, W_RO_PIECES);
    const bit = 1 << piece;
    const start = regionVpn(piece * pieceSize);
    if ((Atomics.load(k.task, roAt) & bit) !== 0) {
      // Touchers stop expecting a fault before write can come back.
      Atomics.and(k.task, roAt, ~bit);
      Atomics.add(k.task, taskW(tid, W_GRANT_EPOCH), 1);
      mshareProtect(k, REGION, start, pieceSize, VM_READ | VM_WRITE);
    } else if (mshareProtect(k, REGION, start, pieceSize, VM_READ) === 0) {
      // Only now, with every client CPU flushed, may a write be refused.
      Atomics.or(k.task, roAt, bit);
    }
  }
  touchStep(k, tid, cpu, o);
}

/** The device driver: `touch` DMA reads of the region through the IOMMU (page requests fault pages in). */
function dmaStep(k: KernelCtx, tid: number, cpu: MshareCpu, o: MshareOptions): void {
  const mm = taskMm(k, tid);
  // Half the device's working set fits its IOTLB, so its entries live long
  // enough to meet the owner's discards.
  const span = Math.min(o.regionPages, 32);
  for (let j = 0; j < o.touch; j++) {
    const va = regionVpn(cpu.rng.below(span)) * PAGE;
    const got = iommuSvaRead(k, DEVICE, mm, va, tid, cpu.op);
    cpu.dmaReads++;
    if (got < 0) cpu.stats.oom++;
  }
}

/** The mm CPU program with the device's reads in its summary. */
class MshareCpu extends MmCpu {
  dmaReads = 0;

  override finish(): Record<string, unknown> {
    return { ...super.finish(), dmaReads: this.dmaReads };
  }
}

/** Host, then every process attached (and process 1 bound to the device). */
function setup(ctx: SetupCtx): void {
  const o = options(ctx);
  const { procs, threads } = processShape(o);
  const writers = procs * threads;
  let ownerTid = -1;
  const plans = Array.from({ length: procs }, (_, p) => ({
    threads,
    kindOf: (i: number) => (p === 0 && i === 0 ? KIND_MSHARE_OWNER : p === 1 && i === 0 && o.iommu === 1 ? KIND_MSHARE_DMA : KIND_MSHARE_TOUCH),
    init: (k: KernelCtx, tid: number, mm: number, i: number) => {
      if (p === 0 && i === 0) {
        ownerTid = tid;
        setTw(k, tid, W_RO_PIECES, 0);
        setTw(k, tid, W_GRANT_EPOCH, 0);
      }
      setTw(k, tid, W_WRITER, p * threads + i);
      setTw(k, tid, W_WRITERS, writers);
      setTw(k, tid, W_OWNER, ownerTid);
      if (i !== 0) return;
      const r = mshareAttach(k, REGION, mm);
      if (r !== 0) throw new ScenarioOptionError(`${NAME}: attaching process ${p} to the region failed (${r}): raise --mem`);
      // The hardware's speculative fills aim at the region.
      const at = mm * MM_STRIDE;
      k.mm[at + MM_SPEC_START] = MSHARE_BASE_VPN;
      k.mm[at + MM_SPEC_PAGES] = Math.min(512, o.regionPages);
      k.mm[at + MM_SPEC_CHUNKS] = 1;
      if (p === 1 && o.iommu === 1) iommuSvaBindDevice(k, DEVICE, mm);
    },
  }));
  setupMmMachine(ctx, NAME, o, plans, 0, -1, (k) => {
    mshareReset(k);
    mmuNotifierReset(k);
    iommuReset(k.views);
    iommuSvaInitThread();
    mshareInitThread();
    const strategy = MSHARE_STRATEGY_NAMES.indexOf(o.strategy);
    mshareCreate(k, REGION, MSHARE_BASE_VPN, o.regionPages, strategy);
    const pieceSize = o.regionPages / o.pieces;
    for (let i = 0; i < o.pieces; i++) {
      const r = mshareMapHostPiece(k, i * pieceSize, pieceSize);
      if (r !== 0) throw new ScenarioOptionError(`${NAME}: mapping piece ${i} of the host failed (${r}): lower --option pieces`);
    }
  });
}

function mshareMapHostPiece(k: KernelCtx, first: number, pages: number): number {
  return mshareMapHost(k, REGION, regionVpn(first), pages, VM_READ | VM_WRITE);
}

/** The machine check, and no IOTLB entry may translate to a frame freed since its fill. */
function endCheck(mem: MachineMemory): MachineCheck {
  const c = checkMachineAtEnd(mem);
  const lines = [...c.violations];
  for (let d = 0; d < IOMMU_DEVICES; d++) {
    if (iommuBoundMm(mem.views, d) < 0) continue;
    for (const vpn of iommuStaleEntries(mem.views, d)) lines.push(`IOMMU ${d} IOTLB: va 0x${(vpn * PAGE).toString(16)} still translates to a frame freed since its fill`);
  }
  return { violations: lines, framesLost: c.framesLost };
}

export const mshare: Scenario = {
  name: NAME,
  description: 'processes share page tables through an mshare host; the owner discards and write-protects pieces, an IOMMU reads through its IOTLB',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('strategy', 'regionPages', 'pieces', 'touch', 'iommu', 'zapMax'),
  setup,
  create(ctx: ProgramCtx): CpuProgram {
    const o = options(ctx);
    mshareInitThread();
    iommuSvaInitThread();
    const programs: (TaskStep | undefined)[] = [];
    programs[KIND_KTHREAD] = kthreadStep;
    programs[KIND_MSHARE_OWNER] = (k, tid, cpu) => ownerStep(k, tid, cpu, o);
    programs[KIND_MSHARE_TOUCH] = (k, tid, cpu) => touchStep(k, tid, cpu, o);
    programs[KIND_MSHARE_DMA] = (k, tid, cpu) => dmaStep(k, tid, cpu as MshareCpu, o);
    return new MshareCpu(ctx, o, programs);
  },
  endCheck,
};
