// Cross-CPU function calls, after kernel/smp.c (smp_call_function_many_cond,
// csd_lock / csd_lock_wait / csd_unlock, __smp_call_single_queue,
// __flush_smp_call_function_queue). Our code, our words; the kernel
// functions named in each comment are the reference for the behaviour.
//
// Shape of the protocol (SEMANTICS.md §2):
// - one csd per (sender, target) pair in the `csd` region, index
//   sender * cpus + target. Only its sender locks it, only its target
//   unlocks it;
// - a call takes the csd lock (waiting while the previous call through that
//   csd is still in flight), writes func + info, and pushes the csd on the
//   target's lock-free call queue (a CAS on the head, like llist_add). The
//   doorbell is rung only when the push found the queue empty: otherwise an
//   IPI is already on its way and the target will drain everything at once;
// - the target drains at interrupt-enabled boundaries: it takes the whole
//   queue with one exchange (llist_del_all), reverses it to arrival order,
//   and for a SYNC entry runs func *then* unlocks the csd: the unlock is the
//   acknowledgement the sender waits for;
// - a waiting sender keeps taking IPIs sent to it (it calls the spin hook,
//   which the free engine points at the IPI poll). Two CPUs that call each
//   other with wait at the same time both get through because each acks the
//   other from inside its own wait loop. That is also why the sender must
//   have interrupts enabled: with them off it could not ack, and a peer doing
//   the same to it would wait forever.
//
// IPI functions are small integers looked up in a per-thread table
// (registerIpiFunc): a csd lives in shared memory and cannot hold a closure.

import { Lockdep } from '../check/lockdep.js';
import { C as C_ } from '../../native-layout/counters.js';
import {
  CONTROL_STOP as CONTROL_STOP_, COUNTERS_STRIDE as COUNTERS_STRIDE_, CPU_CSD_WAIT_FOR as CPU_CSD_WAIT_FOR_,
  CPU_CSD_WAIT_SINCE as CPU_CSD_WAIT_SINCE_, CPU_IRQS_DISABLED as CPU_IRQS_DISABLED_, CPU_PREEMPT_COUNT as CPU_PREEMPT_COUNT_,
  CPU_STRIDE as CPU_STRIDE_, CSD_FLAGS as CSD_FLAGS_, CSD_FUNC as CSD_FUNC_, CSD_GHOST_RAN as CSD_GHOST_RAN_, CSD_GHOST_SEQ as CSD_GHOST_SEQ_,
  CSD_INFO as CSD_INFO_, CSD_NEXT as CSD_NEXT_, CSD_STRIDE as CSD_STRIDE_, IPI_DOORBELL as IPI_DOORBELL_, IPI_PARKED as IPI_PARKED_,
  IPI_QUEUE_HEAD as IPI_QUEUE_HEAD_, IPI_RECEIVED as IPI_RECEIVED_, IPI_STRIDE as IPI_STRIDE_, IPI_WAIT_ADDR as IPI_WAIT_ADDR_,
  IPI_WAIT_VAL as IPI_WAIT_VAL_,
} from '../../native-layout/fields.js';
import type { MachineMemory, MachineViews } from '../../native-layout/memory.js';
import { BUG, injected } from '../check/bugs.js';
import { V_IPI_NOT_RUN, reportViolation } from '../check/oracle.js';
import {
  IPI_QUEUE_EMPTY, IPI_QUEUE_STOPPED, apicCancelHalt, apicHalt, apicPrepareHalt, apicSendIpi, apicWakeIfHalted,
  ipiPending,
} from '../hw/apic.js';
import { cpumaskFirst, cpumaskNext, cpumaskTestCpu } from '../sync/cpumask.js';
import { spinHook } from '../sync/hook.js';
import { SITE_CSD_UNLOCKED, kernelPoint } from './points.js';
import { parkTimeoutMs } from '../sync/wake.js';
import { traceRings, type TraceRing } from '../trace/ring.js';
import { EV_IPI_ACK, EV_IPI_RUN, EV_IPI_SEND } from '../trace/events.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const C = C_, CONTROL_STOP = CONTROL_STOP_, COUNTERS_STRIDE = COUNTERS_STRIDE_, CPU_CSD_WAIT_FOR = CPU_CSD_WAIT_FOR_,
  CPU_CSD_WAIT_SINCE = CPU_CSD_WAIT_SINCE_, CPU_IRQS_DISABLED = CPU_IRQS_DISABLED_, CPU_PREEMPT_COUNT = CPU_PREEMPT_COUNT_,
  CPU_STRIDE = CPU_STRIDE_, CSD_FLAGS = CSD_FLAGS_, CSD_FUNC = CSD_FUNC_, CSD_GHOST_RAN = CSD_GHOST_RAN_, CSD_GHOST_SEQ = CSD_GHOST_SEQ_,
  CSD_INFO = CSD_INFO_, CSD_NEXT = CSD_NEXT_, CSD_STRIDE = CSD_STRIDE_, IPI_DOORBELL = IPI_DOORBELL_, IPI_PARKED = IPI_PARKED_,
  IPI_QUEUE_HEAD = IPI_QUEUE_HEAD_, IPI_RECEIVED = IPI_RECEIVED_, IPI_STRIDE = IPI_STRIDE_, IPI_WAIT_ADDR = IPI_WAIT_ADDR_,
  IPI_WAIT_VAL = IPI_WAIT_VAL_;

/** csd flags word: in flight (set by the sender, cleared by the target as the ack). */
export const CSD_FLAG_LOCK = 1;
/** The sender waits for this call: run func before releasing the csd. */
export const CSD_TYPE_SYNC = 2;

/** scf_flags of smp_call_function_many_cond. */
export const SCF_WAIT = 1;
export const SCF_RUN_LOCAL = 2;

/** control.stop values. Graceful: finish the current op, then quiesce. */
export const STOP_GRACEFUL = 1;
/** Abort: every wait loop unwinds with RunStopped (a fault, the watchdog). */
export const STOP_ABORT = 2;

/** Size of the per-thread IPI function table. */
export const IPI_FUNC_MAX = 64;
/** Does nothing: round trips, benchmarks, "kick" IPIs. Always registered. */
export const IPI_FUNC_NOP = 1;
/** Ids below this belong to kernel layers (flush_tlb_func and friends), the rest to workloads and tests. */
export const IPI_FUNC_FIRST_WORKLOAD = 32;

/**
 * Spin iterations (each one a hook call and a load, a few µs in all) before
 * a waiting sender sleeps on its doorbell, when simulated CPUs outnumber the
 * host's cores: the ack's sender may have no core, and spinning only steals
 * the one it needs.
 */
export const CSD_SPIN_SHORT = 2000;
/**
 * The same when every simulated CPU has a host core: halt-polling, as KVM
 * polls before it blocks a halted vCPU (virt/kvm/kvm_main.c
 * kvm_vcpu_halt; x86's default halt_poll_ns is 200 µs). 20,000 polls are
 * about that long here. With the short budget, two CPUs on two cores fell
 * into a slow regime and stayed there: a sender parked before the ack came,
 * the ack then had to wake it (a futex wake-up, 20-50 µs), by which time the
 * target's own idle spin had run out and the next IPI had to wake it too.
 * The single-page shootdown at 2 CPUs read 3 µs in some runs and 22-50 µs
 * in others, in the same process (bench/README.md).
 */
export const CSD_SPIN_HALT_POLL = 20_000;
/** The budget in force on this thread: CSD_SPIN_SHORT unless setCsdHaltPoll(true). */
export let CSD_SPIN_BEFORE_PARK = CSD_SPIN_SHORT;

/**
 * Chooses this thread's budget. The run decides (src/engine/halt-poll.ts:
 * on when its simulated CPUs do not outnumber the host's cores; KVM's
 * equivalent test is that nothing else wants the physical CPU), and each
 * CPU worker applies it at start-up.
 */
export function setCsdHaltPoll(on: boolean): void {
  CSD_SPIN_BEFORE_PARK = on ? CSD_SPIN_HALT_POLL : CSD_SPIN_SHORT;
}
/** Spins after which a wait stamps csdWaitSince for the watchdog. */
const CSD_WAIT_STAMP_SPINS = 64;

export type IpiFunc = (ctx: SmpCtx, info0: number, info1: number, info2: number, info3: number) => void;
/** cond_func: called for each candidate target (and this CPU for the local run); false skips it. */
export type SmpCondFunc = (cpu: number, info0: number, info1: number, info2: number, info3: number) => boolean;

/**
 * What the SMP code works on, built once per CPU worker. Later layers extend
 * it (their IPI functions receive the object passed to the call, so a TLB
 * context that extends SmpCtx arrives whole).
 */
export interface SmpCtx {
  readonly cpu: number;
  readonly cpus: number;
  readonly cpuState: Int32Array;
  readonly csd: Int32Array;
  readonly ipi: Int32Array;
  readonly control: Int32Array;
  readonly counters: Float64Array;
  /** Date.now() at run start, shared by every thread: csdWaitSince is relative to it. */
  readonly epochMs: number;
  readonly cpuAt: number;
  readonly countersAt: number;
  /** Thread-private scratch: [0..1] targets of the current call, [2..3] targets to ring, [4..5] a one-CPU mask. */
  readonly cfd: Int32Array;
  /** cpu_online_mask: every CPU of the machine. */
  readonly online: Int32Array;
  /** This CPU's trace ring (IPI sends and runs). */
  readonly trace: TraceRing;
  /**
   * Applies the INVLPGB requests other CPUs posted for this one (the
   * kernel context installs its Mmu's); null when nothing is wired. Runs at
   * every poll point, interrupts on or off: INVLPGB is not an interrupt.
   */
  invlpgbApply: (() => number) | null;
  /** lockdep (src/check/lockdep.ts): no wait for acks under a lock taken with interrupts off. */
  readonly lockdep: Lockdep;
  /** The machine's views, for the ghost check of waited calls (reportViolation). */
  readonly views: MachineViews;
}

/** A wait loop saw control.stop == STOP_ABORT: unwind to the engine's CPU loop. */
export class RunStopped extends Error {
  override name = 'RunStopped';
  constructor() {
    super('the run was stopped');
  }
}

/** Misuse of the SMP API (a kernel bug in the emulated code, not a user error). */
export class SmpCallError extends Error {
  override name = 'SmpCallError';
}

const C_IPIS_SENT = C.ipisSent;
const C_IPIS_RECEIVED = C.ipisReceived;
const BUG_NO_WAIT_FOR_ACK = BUG['no-wait-for-ack'];
const BUG_ACK_BEFORE_FLUSH = BUG['ack-before-flush'];

export function makeSmpCtx(mem: MachineMemory, cpu: number, epochMs = 0): SmpCtx {
  const cpus = mem.layout.shape.cpus;
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= cpus) {
    throw new SmpCallError(`cpu ${cpu} is invalid: this machine has CPUs 0..${cpus - 1}`);
  }
  const v = mem.views;
  const online = new Int32Array(2);
  for (let c = 0; c < cpus; c++) online[c >>> 5] |= 1 << (c & 31);
  return {
    cpu,
    cpus,
    cpuState: v.cpu,
    csd: v.csd,
    ipi: v.ipi,
    control: v.control,
    counters: v.counters,
    epochMs,
    cpuAt: cpu * CPU_STRIDE,
    countersAt: cpu * COUNTERS_STRIDE,
    cfd: new Int32Array(6),
    online,
    trace: traceRings(mem)[cpu]!,
    invlpgbApply: null,
    lockdep: new Lockdep(v),
    views: v,
  };
}

/**
 * Puts the IPI state of a machine in its boot state: empty queues, unlocked
 * csds, nobody parked or waiting. Call before the CPUs start (the engine
 * does); not safe while any CPU runs.
 */
export function smpInit(mem: MachineMemory): void {
  const { csd, ipi, cpu } = mem.views;
  const cpus = mem.layout.shape.cpus;
  for (let i = 0; i < cpus * cpus; i++) {
    const at = i * CSD_STRIDE;
    csd[at + CSD_FLAGS] = 0;
    csd[at + CSD_FUNC] = 0;
    csd[at + CSD_NEXT] = IPI_QUEUE_EMPTY;
    csd[at + CSD_GHOST_SEQ] = 0;
    csd[at + CSD_GHOST_RAN] = 0;
  }
  for (let c = 0; c < cpus; c++) {
    const at = c * IPI_STRIDE;
    ipi[at + IPI_QUEUE_HEAD] = IPI_QUEUE_EMPTY;
    ipi[at + IPI_DOORBELL] = 0;
    ipi[at + IPI_RECEIVED] = 0;
    ipi[at + IPI_PARKED] = 0;
    ipi[at + IPI_WAIT_ADDR] = -1;
    ipi[at + IPI_WAIT_VAL] = -1;
    cpu[c * CPU_STRIDE + CPU_CSD_WAIT_SINCE] = 0;
    cpu[c * CPU_STRIDE + CPU_IRQS_DISABLED] = 0;
  }
}

// ---------------------------------------------------------------------------
// The function table

function ipiUnregistered(): void {}

const ipiFuncs: IpiFunc[] = Array.from({ length: IPI_FUNC_MAX }, () => ipiUnregistered);

function nop(): void {}
ipiFuncs[IPI_FUNC_NOP] = nop;

/** Registers `fn` under `id` in this thread. Every thread that may receive the call must register it. */
export function registerIpiFunc(id: number, fn: IpiFunc): void {
  if (!Number.isInteger(id) || id <= 0 || id >= IPI_FUNC_MAX) {
    throw new SmpCallError(`IPI function id ${id} is invalid: use 1..${IPI_FUNC_MAX - 1}`);
  }
  const old = ipiFuncs[id];
  if (old !== ipiUnregistered && old !== fn) {
    throw new SmpCallError(`IPI function id ${id} is already registered to another function`);
  }
  ipiFuncs[id] = fn;
}

function lookupIpiFunc(id: number): IpiFunc {
  const fn = id > 0 && id < IPI_FUNC_MAX ? ipiFuncs[id]! : ipiUnregistered;
  if (fn === ipiUnregistered) throw new SmpCallError(`IPI function id ${id} is not registered on this CPU`);
  return fn;
}

// ---------------------------------------------------------------------------
// Interrupt flag

export function irqsDisabled(ctx: SmpCtx): boolean {
  return ctx.cpuState[ctx.cpuAt + CPU_IRQS_DISABLED] !== 0;
}

export function localIrqDisable(ctx: SmpCtx): void {
  ctx.cpuState[ctx.cpuAt + CPU_IRQS_DISABLED] = 1;
}

/**
 * Like `sti`: an IPI that arrived while interrupts were off is taken right
 * here, before the caller's next instruction, as on the real machine.
 */
export function localIrqEnable(ctx: SmpCtx): void {
  ctx.cpuState[ctx.cpuAt + CPU_IRQS_DISABLED] = 0;
  if (ipiPending(ctx.ipi, ctx.cpu)) flushSmpCallFunctionQueue(ctx);
}

/** local_irq_save: returns the previous state for localIrqRestore. */
export function localIrqSave(ctx: SmpCtx): number {
  const at = ctx.cpuAt + CPU_IRQS_DISABLED;
  const flags = ctx.cpuState[at];
  ctx.cpuState[at] = 1;
  return flags;
}

export function localIrqRestore(ctx: SmpCtx, flags: number): void {
  if (flags === 0) localIrqEnable(ctx);
}

// ---------------------------------------------------------------------------
// Target side

/**
 * The poll path, at every interrupt-enabled boundary (op boundaries and, as
 * the spin hook, every wait loop): one load and a compare when nothing is
 * pending.
 */
export function pollIpis(ctx: SmpCtx): void {
  if (ctx.invlpgbApply !== null) ctx.invlpgbApply();
  if (ipiPending(ctx.ipi, ctx.cpu)) flushSmpCallFunctionQueue(ctx);
}

/**
 * generic_smp_call_function_single_interrupt / __flush_smp_call_function_queue:
 * takes the whole queue and runs it in arrival order, with interrupts off
 * (a function that spins on a lock calls the hook, which must not re-enter
 * here). Does nothing while interrupts are disabled: the entries stay queued
 * and the sender keeps waiting, which is how a CPU with interrupts off
 * delays every shootdown aimed at it.
 *
 * One pass in arrival order for both kinds; the kernel runs the SYNC
 * entries of a batch first and the async ones after. Nothing here depends
 * on that difference.
 */
export function flushSmpCallFunctionQueue(ctx: SmpCtx): void {
  const st = ctx.cpuState;
  const irqAt = ctx.cpuAt + CPU_IRQS_DISABLED;
  const ipi = ctx.ipi;
  const ipiAt = ctx.cpu * IPI_STRIDE;
  if (st[irqAt] !== 0) {
    // The stop marker is no interrupt: a CPU spinning with interrupts off
    // (for a zone lock a halted CPU will never release) unwinds too.
    if (Atomics.load(ipi, ipiAt + IPI_QUEUE_HEAD) === IPI_QUEUE_STOPPED) throw new RunStopped();
    return;
  }
  let e = Atomics.exchange(ipi, ipiAt + IPI_QUEUE_HEAD, IPI_QUEUE_EMPTY);
  if (e === IPI_QUEUE_EMPTY) return;
  // The list is newest-first (each push goes on the head); reverse it so
  // calls run in the order they were queued, whoever sent them.
  const csd = ctx.csd;
  let fifo = IPI_QUEUE_EMPTY;
  while (e >= 0) {
    const at = e * CSD_STRIDE;
    const next = csd[at + CSD_NEXT];
    csd[at + CSD_NEXT] = fifo;
    fifo = e;
    e = next;
  }
  if (e === IPI_QUEUE_STOPPED) throw new RunStopped();
  st[irqAt] = 1;
  ipi[ipiAt + IPI_RECEIVED]++;
  const counters = ctx.counters;
  const received = ctx.countersAt + C_IPIS_RECEIVED;
  // The ack-before-flush bug acks a SYNC call before running it: the
  // sender goes on (frees the page, reuses the frame) while this CPU still
  // caches what it was asked to drop.
  const ackFirst = injected[BUG_ACK_BEFORE_FLUSH] !== 0;
  for (e = fifo; e >= 0;) {
    const at = e * CSD_STRIDE;
    // Read everything before the unlock: from then on the sender may reuse
    // the csd for its next call (llist_for_each_entry_safe in the kernel).
    const next = csd[at + CSD_NEXT];
    const flags = csd[at + CSD_FLAGS];
    const fn = lookupIpiFunc(csd[at + CSD_FUNC]);
    const i0 = csd[at + CSD_INFO];
    const i1 = csd[at + CSD_INFO + 1];
    const i2 = csd[at + CSD_INFO + 2];
    const i3 = csd[at + CSD_INFO + 3];
    const seq = csd[at + CSD_GHOST_SEQ]!;
    counters[received] += 1;
    const sender = (e / ctx.cpus) | 0;
    const funcId = csd[at + CSD_FUNC]!;
    ctx.trace.emit(EV_IPI_RUN, sender, funcId, 0);
    if ((flags & CSD_TYPE_SYNC) !== 0 && !ackFirst) {
      fn(ctx, i0, i1, i2, i3);
      // Ghost state: the function has returned. A plain store before the
      // unlock's release store, so a sender that saw the ack sees it too.
      csd[at + CSD_GHOST_RAN] = seq;
      ctx.trace.emit(EV_IPI_ACK, sender, funcId, 0);
      csdUnlock(ctx, e);
    } else {
      ctx.trace.emit(EV_IPI_ACK, sender, funcId, 0);
      csdUnlock(ctx, e);
      // The sender may run on from here while the function has not run
      // yet: for an async call that is the contract, for a SYNC call acked
      // first (ack-before-flush) it is the bug. A scheduling point, so the
      // serialized engine can let the sender free the page in this window
      // and a hunt can replay the race.
      kernelPoint(SITE_CSD_UNLOCKED);
      fn(ctx, i0, i1, i2, i3);
      // Only this CPU writes ghostRan, in queue order, so a call sent
      // through the csd after the early ack cannot be overtaken here.
      if ((flags & CSD_TYPE_SYNC) !== 0) csd[at + CSD_GHOST_RAN] = seq;
    }
    e = next;
  }
  st[irqAt] = 0;
}

/** csd_unlock: the release store is the ack; wake the sender if it sleeps. */
function csdUnlock(ctx: SmpCtx, csdIndex: number): void {
  Atomics.store(ctx.csd, csdIndex * CSD_STRIDE + CSD_FLAGS, 0);
  apicWakeIfHalted(ctx.ipi, (csdIndex / ctx.cpus) | 0);
}

// ---------------------------------------------------------------------------
// Sender side

/**
 * csd_lock_wait: spins (answering IPIs through the hook) until the csd is
 * unlocked. While it waits, csdWaitSince tells the watchdog since when.
 */
export function csdLockWait(ctx: SmpCtx, csdIndex: number): void {
  if ((Atomics.load(ctx.csd, csdIndex * CSD_STRIDE + CSD_FLAGS) & CSD_FLAG_LOCK) === 0) return;
  csdLockWaitSlow(ctx, csdIndex);
}

function csdLockWaitSlow(ctx: SmpCtx, csdIndex: number): void {
  const st = ctx.cpuState;
  const sinceAt = ctx.cpuAt + CPU_CSD_WAIT_SINCE;
  const flagsAt = csdIndex * CSD_STRIDE + CSD_FLAGS;
  const csd = ctx.csd;
  const ipi = ctx.ipi;
  const me = ctx.cpu;
  let spins = 0;
  for (;;) {
    spinHook();
    if ((Atomics.load(csd, flagsAt) & CSD_FLAG_LOCK) === 0) break;
    if (Atomics.load(ctx.control, CONTROL_STOP) === STOP_ABORT) {
      st[sinceAt] = 0;
      throw new RunStopped();
    }
    if (++spins === CSD_WAIT_STAMP_SPINS) {
      // For the watchdog: which csd, since when (microseconds late, against
      // a bound of seconds; a quick ack never pays for the clock read). A
      // CPU that takes an IPI in this loop and is stuck in that handler
      // keeps the stamp, but its own csd gets unlocked: the watchdog blames
      // only waits whose csd is still held.
      st[ctx.cpuAt + CPU_CSD_WAIT_FOR] = csdIndex;
      st[sinceAt] = Math.max(1, Date.now() - ctx.epochMs + 1);
    } else if (spins > CSD_SPIN_BEFORE_PARK) {
      // Sleep on our own doorbell: it rings for an IPI to us (which we must
      // answer) and for the ack of a csd we wait on (csdUnlock).
      const seen = apicPrepareHalt(ipi, me);
      if ((Atomics.load(csd, flagsAt) & CSD_FLAG_LOCK) !== 0 && !ipiPending(ipi, me)) {
        apicHalt(ipi, me, seen, parkTimeoutMs());
      } else {
        apicCancelHalt(ipi, me);
      }
    }
  }
  if (spins >= CSD_WAIT_STAMP_SPINS) st[sinceAt] = 0;
}

/** llist_add onto `target`'s call queue; true when the queue was empty (the caller must ring). */
function callQueuePush(ctx: SmpCtx, target: number, csdIndex: number): boolean {
  const ipi = ctx.ipi;
  const headAt = target * IPI_STRIDE + IPI_QUEUE_HEAD;
  const nextAt = csdIndex * CSD_STRIDE + CSD_NEXT;
  let first = Atomics.load(ipi, headAt);
  for (;;) {
    // The successor link is written before the CAS that publishes the node:
    // the target reads it after its exchange, which orders after our CAS.
    ctx.csd[nextAt] = first;
    const seen = Atomics.compareExchange(ipi, headAt, first, csdIndex);
    if (seen === first) return first === IPI_QUEUE_EMPTY;
    first = seen;
  }
}

function assertIrqsEnabled(ctx: SmpCtx, what: string): void {
  if (ctx.cpuState[ctx.cpuAt + CPU_IRQS_DISABLED] !== 0) {
    throw new SmpCallError(
      `CPU ${ctx.cpu} called ${what} with interrupts disabled: it could not ack a peer doing the same (deadlock)`,
    );
  }
}

function runLocally(ctx: SmpCtx, fn: IpiFunc, i0: number, i1: number, i2: number, i3: number): void {
  const flags = localIrqSave(ctx);
  fn(ctx, i0, i1, i2, i3);
  localIrqRestore(ctx, flags);
}

/**
 * smp_call_function_many_cond: runs `func(info0..3)` on every online CPU of
 * the mask (two Int32 words at mask[maskAt], src/sync/cpumask.ts) for which
 * `cond` holds; on this CPU too when SCF_RUN_LOCAL is set and the mask
 * includes it. With SCF_WAIT, returns only after every remote call ran and
 * acked. The mask may be shared and changing (mm_cpumask): it is read once.
 */
export function smpCallFunctionManyCond(
  ctx: SmpCtx, mask: Int32Array, maskAt: number, func: number,
  info0: number, info1: number, info2: number, info3: number,
  scfFlags: number, cond: SmpCondFunc | null = null,
): void {
  // lockdep first: under the zone lock the assertion below would fire too,
  // but lockdep names the lock, and the CPU that would never answer.
  ctx.lockdep.checkWaitForAcks(ctx.cpu);
  assertIrqsEnabled(ctx, 'smpCallFunctionManyCond');
  const fn = lookupIpiFunc(func);
  const me = ctx.cpu;
  const cpus = ctx.cpus;
  const st = ctx.cpuState;
  st[ctx.cpuAt + CPU_PREEMPT_COUNT]++;
  const wait = (scfFlags & SCF_WAIT) !== 0;
  const runLocal = (scfFlags & SCF_RUN_LOCAL) !== 0 && cpumaskTestCpu(mask, maskAt, me)
    && (cond === null || cond(me, info0, info1, info2, info3));

  // cpumask_and(cfd->cpumask, mask, cpu_online_mask) minus this CPU.
  const cfd = ctx.cfd;
  cfd[0] = mask[maskAt] & ctx.online[0];
  cfd[1] = mask[maskAt + 1] & ctx.online[1];
  cfd[me >>> 5] &= ~(1 << (me & 31));
  cfd[2] = 0;
  cfd[3] = 0;

  const csd = ctx.csd;
  const lockFlags = wait ? CSD_FLAG_LOCK | CSD_TYPE_SYNC : CSD_FLAG_LOCK;
  const sent = ctx.countersAt + C_IPIS_SENT;
  for (let c = cpumaskFirst(cfd, 0); c >= 0; c = cpumaskNext(cfd, 0, c)) {
    if (cond !== null && !cond(c, info0, info1, info2, info3)) {
      cfd[c >>> 5] &= ~(1 << (c & 31));
      continue;
    }
    const idx = me * cpus + c;
    const at = idx * CSD_STRIDE;
    // csd_lock: the previous call through this csd (an async one, or one
    // whose wait the no-wait-for-ack bug skipped) may still be queued or
    // running; overwriting func/info under it would corrupt that call.
    csdLockWait(ctx, idx);
    ctx.trace.emit(EV_IPI_SEND, c, func, 0);
    // A plain store, like the kernel's csd_lock (a store and smp_wmb): the
    // target reads the csd only after taking it off the queue, and the CAS
    // that puts it there publishes every write made before it.
    csd[at + CSD_FLAGS] = lockFlags;
    csd[at + CSD_GHOST_SEQ] = (csd[at + CSD_GHOST_SEQ]! + 1) | 0;
    csd[at + CSD_FUNC] = func;
    csd[at + CSD_INFO] = info0;
    csd[at + CSD_INFO + 1] = info1;
    csd[at + CSD_INFO + 2] = info2;
    csd[at + CSD_INFO + 3] = info3;
    if (callQueuePush(ctx, c, idx)) cfd[2 + (c >>> 5)] |= 1 << (c & 31);
    ctx.counters[sent] += 1;
  }
  // send_call_function_ipi_mask: one ring per target whose queue we found empty.
  for (let c = cpumaskFirst(cfd, 2); c >= 0; c = cpumaskNext(cfd, 2, c)) apicSendIpi(ctx.ipi, c);

  if (runLocal) runLocally(ctx, fn, info0, info1, info2, info3);

  // Returning before the acks is the no-wait-for-ack bug: a TLB shootdown
  // initiator would free the page while remote TLBs still map it.
  if (wait) {
    if (injected[BUG_NO_WAIT_FOR_ACK] === 0) {
      for (let c = cpumaskFirst(cfd, 0); c >= 0; c = cpumaskNext(cfd, 0, c)) csdLockWait(ctx, me * cpus + c);
    }
    checkWaitedCallsRan(ctx, func);
  }
  st[ctx.cpuAt + CPU_PREEMPT_COUNT]--;
}

/**
 * Ghost-state check of smp_call_function_many_cond's postcondition: when a
 * waited call returns, every target it named has finished the function
 * (the csd's ghostRan caught up with its ghostSeq). A correct kernel holds
 * it on every call, whatever the timing; an ack sent before the function
 * ran, or a wait skipped, breaks it at once instead of only when a stale
 * entry is used after its frame was reused. Costs two loads per target.
 */
function checkWaitedCallsRan(ctx: SmpCtx, func: number): void {
  const cfd = ctx.cfd;
  const csd = ctx.csd;
  const base = ctx.cpu * ctx.cpus;
  for (let c = cpumaskFirst(cfd, 0); c >= 0; c = cpumaskNext(cfd, 0, c)) {
    const at = (base + c) * CSD_STRIDE;
    const want = csd[at + CSD_GHOST_SEQ]!;
    const ran = Atomics.load(csd, at + CSD_GHOST_RAN);
    if (ran !== want) reportViolation(ctx.views, ctx.cpu, V_IPI_NOT_RUN, func, c, want, ran, -1, -1);
  }
}

/** smp_call_function_many: the mask's other CPUs, never this one. */
export function smpCallFunctionMany(
  ctx: SmpCtx, mask: Int32Array, maskAt: number, func: number,
  info0: number, info1: number, info2: number, info3: number, wait: boolean,
): void {
  smpCallFunctionManyCond(ctx, mask, maskAt, func, info0, info1, info2, info3, wait ? SCF_WAIT : 0, null);
}

/** smp_call_function_single: on `cpu` (locally, interrupts off, when it is this CPU). */
export function smpCallFunctionSingle(
  ctx: SmpCtx, cpu: number, func: number,
  info0: number, info1: number, info2: number, info3: number, wait: boolean,
): void {
  if (cpu === ctx.cpu) {
    assertIrqsEnabled(ctx, 'smpCallFunctionSingle');
    runLocally(ctx, lookupIpiFunc(func), info0, info1, info2, info3);
    return;
  }
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= ctx.cpus) {
    throw new SmpCallError(`target cpu ${cpu} is invalid: use 0..${ctx.cpus - 1}`);
  }
  const m = ctx.cfd;
  m[4] = 0;
  m[5] = 0;
  m[4 + (cpu >>> 5)] = 1 << (cpu & 31);
  smpCallFunctionManyCond(ctx, m, 4, func, info0, info1, info2, info3, wait ? SCF_WAIT : 0, null);
}

/** on_each_cpu_cond_mask: the mask's CPUs passing `cond`, this one included. */
export function onEachCpuCondMask(
  ctx: SmpCtx, mask: Int32Array, maskAt: number, func: number,
  info0: number, info1: number, info2: number, info3: number, wait: boolean, cond: SmpCondFunc | null,
): void {
  smpCallFunctionManyCond(ctx, mask, maskAt, func, info0, info1, info2, info3,
    SCF_RUN_LOCAL | (wait ? SCF_WAIT : 0), cond);
}

/** on_each_cpu: every online CPU, this one included. */
export function onEachCpu(
  ctx: SmpCtx, func: number, info0: number, info1: number, info2: number, info3: number, wait: boolean,
): void {
  smpCallFunctionManyCond(ctx, ctx.online, 0, func, info0, info1, info2, info3,
    SCF_RUN_LOCAL | (wait ? SCF_WAIT : 0), null);
}

// ---------------------------------------------------------------------------
// Idle

/**
 * The idle loop's body (do_idle): spin a little watching the queue, then
 * sleep on the doorbell for at most parkMs, then take whatever arrived.
 * Returns after one round; the caller decides whether to go on idling.
 */
export function smpIdleWait(ctx: SmpCtx, spins: number, parkMs: number = parkTimeoutMs()): void {
  const ipi = ctx.ipi;
  const me = ctx.cpu;
  const headAt = me * IPI_STRIDE + IPI_QUEUE_HEAD;
  for (let i = 0; i < spins; i++) {
    // Atomics.load, not a plain read: nothing else in this loop would stop
    // the compiler from reading the head once.
    if (Atomics.load(ipi, headAt) !== IPI_QUEUE_EMPTY) {
      flushSmpCallFunctionQueue(ctx);
      return;
    }
  }
  const seen = apicPrepareHalt(ipi, me);
  // INVLPGBs posted before we marked ourselves halted rang nobody: take
  // them now (later ones ring the doorbell).
  if (ctx.invlpgbApply !== null) ctx.invlpgbApply();
  if (Atomics.load(ipi, headAt) === IPI_QUEUE_EMPTY) apicHalt(ipi, me, seen, parkMs);
  else apicCancelHalt(ipi, me);
  pollIpis(ctx);
}
