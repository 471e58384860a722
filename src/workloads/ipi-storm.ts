// ipi-storm: every CPU keeps calling a function on a random subset of the
// others with wait, now and then on itself too, and now and then runs a few
// ops with interrupts off (taking no IPIs, so its callers wait). Checks the
// IPI layer alone: at the end every queued call ran exactly once
// (ipisSent == ipisReceived), no function ran on a CPU while it had
// interrupts off, and two CPUs calling each other never deadlock.
//
// Options: irqOffPercent (3) chance that an op starts an interrupts-off
// stretch of 1..4 ops; localPercent (12) chance that a call also runs
// locally.
//
// Each call goes through the entry point a kernel caller of that shape
// uses: on_each_cpu_cond_mask when it includes this CPU,
// smp_call_function_single for one other CPU, smp_call_function_many for
// several. They share smp_call_function_many_cond, but each builds its
// mask and flags its own way (single's private mask, run-local's test of
// the mask), and a bug there would be missed by a storm that bypassed them.

import { C } from '../../native-layout/counters.js';
import { CONTROL_STOP } from '../../native-layout/fields.js';
import {
  IPI_FUNC_FIRST_WORKLOAD, RunStopped, STOP_ABORT, type SmpCtx,
  localIrqDisable, localIrqEnable, onEachCpuCondMask, pollIpis, registerIpiFunc,
  smpCallFunctionMany, smpCallFunctionSingle,
} from '../kernel/smp.js';
import { cpumaskFirst, cpumaskWeight } from '../sync/cpumask.js';
import type { CpuProgram, ProgramCtx, Scenario } from './program.js';
import { Xorshift32 } from './prng.js';

/** IPI function id of the storm's remote function. */
export const IPI_STORM_FUNC = IPI_FUNC_FIRST_WORKLOAD;

import { recordOption } from './option-catalog.js';

const C_IPI_FUNC_RUNS = C.ipiFuncRuns;

function numberOption(ctx: Pick<ProgramCtx, 'options'>, name: string, dflt: number, min: number, max: number): number {
  recordOption({ name, default: dflt, range: `${min}..${max}` });
  const v = ctx.options[name] ?? dflt;
  if (typeof v !== 'number' || !(v >= min && v <= max)) {
    throw new RangeError(`ipi-storm option ${name}=${String(v)} is invalid: use a number in ${min}..${max}`);
  }
  return v;
}

/** The storm's options: percent of ops with interrupts off, percent of calls that include the caller. */
function stormOptions(ctx: Pick<ProgramCtx, 'options'>): { irqOffPercent: number; localPercent: number } {
  return {
    irqOffPercent: numberOption(ctx, 'irqOffPercent', 3, 0, 100),
    localPercent: numberOption(ctx, 'localPercent', 12, 0, 100),
  };
}

class IpiStorm implements CpuProgram {
  private readonly smp: SmpCtx;
  private readonly rng: Xorshift32;
  private readonly mask = new Int32Array(2);
  /** Every other CPU: the candidates. */
  private readonly others = new Int32Array(2);
  private readonly irqOffPercent: number;
  private readonly localPercent: number;
  private readonly neverAck: boolean;
  private irqOffLeft = 0;
  private seq = 0;

  // What finish() reports.
  private calls = 0;
  private remoteCalls = 0;
  private localRuns = 0;
  private remoteRuns = 0;
  private readonly ranFrom: number[];
  private irqOffStretches = 0;
  private ranWhileIrqsOff = 0;
  /** Calls by entry point: smp_call_function_single, _many, on_each_cpu_cond_mask. */
  private singleCalls = 0;
  private manyCalls = 0;
  private condMaskCalls = 0;

  readonly poll: () => void;

  constructor(private readonly ctx: ProgramCtx) {
    this.smp = ctx.smp;
    this.rng = new Xorshift32(ctx.seed, ctx.cpu);
    ({ irqOffPercent: this.irqOffPercent, localPercent: this.localPercent } = stormOptions(ctx));
    this.neverAck = ctx.testFaults.neverAckCpu === ctx.cpu;
    this.ranFrom = new Array<number>(ctx.cpus).fill(0);
    for (let c = 0; c < ctx.cpus; c++) if (c !== ctx.cpu) this.others[c >>> 5] |= 1 << (c & 31);
    const smp = this.smp;
    this.poll = () => pollIpis(smp);
  }

  step(): void {
    const smp = this.smp;
    if (this.irqOffLeft > 0) {
      // Clear our own marker before enabling: the enable takes what queued up
      // meanwhile, and those runs are legitimate.
      if (--this.irqOffLeft === 0) localIrqEnable(smp);
      return;
    }
    const rng = this.rng;
    const r = rng.next();
    if (r % 100 < this.irqOffPercent) {
      this.irqOffLeft = 1 + ((r >>> 8) & 3);
      this.irqOffStretches++;
      localIrqDisable(smp);
      return;
    }
    const m = this.mask;
    m[0] = rng.next() & this.others[0];
    m[1] = rng.next() & this.others[1];
    if ((m[0] | m[1]) === 0 && (this.others[0] | this.others[1]) !== 0) {
      // An empty draw: take one other CPU instead, so every op sends.
      let c = rng.below(this.ctx.cpus - 1);
      if (c >= this.ctx.cpu) c++;
      m[c >>> 5] |= 1 << (c & 31);
    }
    const me = this.ctx.cpu;
    const local = (r >>> 8) % 100 < this.localPercent;
    if (local) m[me >>> 5] |= 1 << (me & 31);
    this.seq = (this.seq + 1) | 0;
    this.calls++;
    const before = smp.counters[smp.countersAt + C.ipisSent];
    const one = cpumaskWeight(m, 0) === 1 ? cpumaskFirst(m, 0) : -1;
    if (local) {
      this.condMaskCalls++;
      onEachCpuCondMask(smp, m, 0, IPI_STORM_FUNC, me, this.seq, 0, 0, true, null);
    } else if (one >= 0) {
      this.singleCalls++;
      smpCallFunctionSingle(smp, one, IPI_STORM_FUNC, me, this.seq, 0, 0, true);
    } else {
      this.manyCalls++;
      smpCallFunctionMany(smp, m, 0, IPI_STORM_FUNC, me, this.seq, 0, 0, true);
    }
    this.remoteCalls += smp.counters[smp.countersAt + C.ipisSent] - before;
  }

  endOps(): void {
    if (this.irqOffLeft > 0) {
      this.irqOffLeft = 0;
      localIrqEnable(this.smp);
    }
  }

  /** The storm function, on the target CPU (this program is the target's). */
  ran(sender: number): void {
    const smp = this.smp;
    smp.counters[smp.countersAt + C_IPI_FUNC_RUNS] += 1;
    if (sender === this.ctx.cpu) this.localRuns++;
    else {
      this.remoteRuns++;
      this.ranFrom[sender]++;
    }
    if (this.irqOffLeft > 0) this.ranWhileIrqsOff++;
    if (this.neverAck && sender !== this.ctx.cpu) hangInHandler(smp);
  }

  finish(): Record<string, unknown> {
    return {
      calls: this.calls,
      remoteCalls: this.remoteCalls,
      localRuns: this.localRuns,
      remoteRuns: this.remoteRuns,
      ranFrom: this.ranFrom,
      irqOffStretches: this.irqOffStretches,
      ranWhileIrqsOff: this.ranWhileIrqsOff,
      singleCalls: this.singleCalls,
      manyCalls: this.manyCalls,
      condMaskCalls: this.condMaskCalls,
    };
  }
}

/**
 * The neverAck test fault: a handler stuck for good, with interrupts off
 * (so no IPIs either), that only an aborted run gets out of.
 */
function hangInHandler(smp: SmpCtx): void {
  const control = smp.control;
  for (;;) {
    const stop = Atomics.load(control, CONTROL_STOP);
    if (stop === STOP_ABORT) throw new RunStopped();
    Atomics.wait(control, CONTROL_STOP, stop, 10);
  }
}

/** The program of this thread: the IPI function is per thread, so is its target. */
let current: IpiStorm | null = null;

function ipiStormFunc(_ctx: SmpCtx, sender: number): void {
  current!.ran(sender);
}

export const ipiStorm: Scenario = {
  name: 'ipi-storm',
  description: 'every CPU calls a function with wait on random sets of CPUs, sometimes with interrupts off for a few ops',
  optionNames: ['irqOffPercent', 'localPercent'],
  // Reads the options once on the main thread, so a bad value is refused
  // before any CPU starts (and `run ipi-storm --options` can list them).
  setup(ctx) {
    stormOptions(ctx);
  },
  create(ctx: ProgramCtx): CpuProgram {
    registerIpiFunc(IPI_STORM_FUNC, ipiStormFunc);
    current = new IpiStorm(ctx);
    return current;
  },
};
