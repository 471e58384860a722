// One simulated CPU: the long-running piscina task of the free engine. Runs
// the scenario's ops as fast as it can, taking IPIs between ops and inside
// every wait (the spin hook), then quiesces: it keeps answering IPIs until
// every CPU has finished, because a peer still in its last call may be
// waiting for our ack.

// First: its evaluation time is the start-up log's "modules began evaluating".
import { MODULES_EVALUATION_BEGAN_AT } from './worker-start-mark.js';
import { C } from '../../native-layout/counters.js';
import { CONTROL_CPUS_DONE, CONTROL_CPUS_ONLINE, CONTROL_STOP, COUNTERS_STRIDE } from '../../native-layout/fields.js';
import { attachMachineMemory } from '../../native-layout/memory.js';
import { setInjected } from '../check/bugs.js';
import { ViolationHalt } from '../check/halt.js';
import { apicKick, ipiPending } from '../hw/apic.js';

import { publishThreadMmuCounters } from '../hw/mmu.js';
import { bindThreadToCpu } from '../hw/owner.js';
import { RunStopped, type SmpCtx, localIrqEnable, makeSmpCtx, setCsdHaltPoll, smpIdleWait } from '../kernel/smp.js';
import { setLockTraceHook, setSpinHook } from '../sync/hook.js';
import { EV_LOCK_ACQUIRE, EV_LOCK_RELEASE } from '../trace/events.js';
import { startSharedTraceNumbering } from '../trace/ring.js';
import { clearCpuWake, installCpuWake } from '../sync/wake.js';
import { createCpuProgram } from '../workloads/index.js';
import { loadScenarioFile } from '../workloads/scenario-file.js';
import { loadDesignFile } from '../kernel/design/design-file.js';
import type { CpuProgram, ProgramCtx } from '../workloads/program.js';
import { abortRun, isAborting, startBarrier } from './control.js';
import { installKernelPoints, interleaveConfig, removeKernelPoints } from './kernel-points.js';
import { installSerialized, leaveSchedule, opBoundary, removeSerialized, waitForToken } from './serialized.js';
import type { CpuFaultInfo, CpuOutcome, CpuPhase, CpuTask } from './task.js';
import { STARTUP_LOG, type StartupMark, absNow, markStartup } from './startup-log.js';

/** When this module (and so the whole bundle) finished evaluating: a start-up stage. */
const MODULE_EVALUATED_AT = STARTUP_LOG ? absNow() : 0;

/** Idle spins per round while quiescing: other CPUs still run ops and need the cores. */
const QUIESCE_SPINS = 50;

interface ProgramModule {
  createCpuProgram(ctx: ProgramCtx): CpuProgram;
}

async function loadProgram(task: CpuTask, ctx: ProgramCtx): Promise<CpuProgram> {
  for (const url of task.designFiles) await loadDesignFile(url);
  for (const url of task.scenarioFiles) await loadScenarioFile(url);
  if (task.programModule === null) return createCpuProgram(task.scenario, ctx);
  const mod = (await import(task.programModule)) as Partial<ProgramModule>;
  if (typeof mod.createCpuProgram !== 'function') {
    throw new TypeError(`program module ${task.programModule} does not export createCpuProgram(ctx)`);
  }
  return mod.createCpuProgram(ctx);
}

function faultInfo(e: unknown, phase: CpuPhase, op: number): CpuFaultInfo {
  const err = e instanceof Error ? e : new Error(String(e));
  return { phase, op, name: err.name, message: err.message, stack: err.stack ?? '' };
}

/**
 * Whether something that rings this CPU's wake word is already waiting for
 * it: a queued IPI (taken by the next poll), or INVLPGB requests, which are
 * applied right here since applying them is allowed at any point.
 */
function wakePending(smp: SmpCtx): boolean {
  if (smp.invlpgbApply !== null) smp.invlpgbApply();
  return ipiPending(smp.ipi, smp.cpu);
}

/** Runs ops until the budget is done or the run is stopped; returns the ops done. */
function runOps(
  program: CpuProgram, control: Int32Array, counters: Float64Array, opsAt: number, budget: number, progress: { op: number },
  boundary: (() => void) | null,
): number {
  let op = 0;
  for (; op < budget; op++) {
    if (Atomics.load(control, CONTROL_STOP) !== 0) break;
    progress.op = op;
    program.poll();
    program.step();
    counters[opsAt] += 1;
    if (boundary !== null) boundary();
  }
  progress.op = op;
  return op;
}

/**
 * Answers IPIs until every CPU is past its op loop. Then one last drain:
 * every call was queued before its sender counted itself done, so nothing
 * can arrive after it.
 */
function quiesce(smp: SmpCtx, program: CpuProgram): void {
  const control = smp.control;
  localIrqEnable(smp);
  if (Atomics.add(control, CONTROL_CPUS_DONE, 1) + 1 === smp.cpus) {
    for (let c = 0; c < smp.cpus; c++) if (c !== smp.cpu) apicKick(smp.ipi, c);
  }
  while (Atomics.load(control, CONTROL_CPUS_DONE) < smp.cpus) {
    if (isAborting(control)) throw new RunStopped();
    program.poll();
    smpIdleWait(smp, QUIESCE_SPINS);
  }
  program.poll();
}

/**
 * The test crash (TestFaults.crashCpu): an exception the CPU does not
 * handle, or the worker thread ending on the spot, as when it is killed
 * (process.exit in a worker stops only that thread: no finally blocks, no
 * result message; the pool sees the thread exit).
 */
function crashNow(how: 'throw' | 'exit', cpu: number, op: number): void {
  if (how === 'exit') process.exit(86);
  throw new Error(`test crash of CPU ${cpu} at op ${op}`);
}

export default async function runCpu(task: CpuTask): Promise<CpuOutcome> {
  const marks: StartupMark[] = STARTUP_LOG ? [{ stage: 'modules began evaluating', at: MODULES_EVALUATION_BEGAN_AT }, { stage: 'modules evaluated', at: MODULE_EVALUATED_AT }] : [];
  markStartup(marks, 'task received');
  const mem = attachMachineMemory(task.sab, task.shape);
  const { control, counters } = mem.views;
  const cpus = task.shape.cpus;
  Atomics.add(control, CONTROL_CPUS_ONLINE, 1);
  let phase: CpuPhase = 'setup';
  const progress = { op: -1 };
  let runMs = 0;
  let stopped = false;
  let fault: CpuFaultInfo | null = null;
  let program: CpuProgram | null = null;
  // The profiler (node:inspector) is loaded only by runs that profile: a
  // module every one of 64 workers would otherwise load and initialise.
  const profiling = task.profileDir === null ? null : await import('./cpu-profiler.js');
  const profiler = profiling === null ? null : new profiling.CpuProfiler();
  if (profiler !== null) await profiler.start();
  try {
    setInjected(task.inject);
    bindThreadToCpu(task.cpu);
    // Halt-polling as the run chose it (src/engine/halt-poll.ts).
    setCsdHaltPoll(task.haltPoll);
    const smp = makeSmpCtx(mem, task.cpu, task.epochMs);
    installCpuWake(smp.ipi, task.cpu, cpus, () => wakePending(smp));
    // Contended locks go into this CPU's trace ring (slow paths only).
    const ring = smp.trace;
    setLockTraceHook((acquire, word, kind, spins) => ring.emit(acquire ? EV_LOCK_ACQUIRE : EV_LOCK_RELEASE, word, kind, spins));
    markStartup(marks, 'cpu context made');
    program = await loadProgram(task, {
      cpu: task.cpu,
      cpus,
      mem,
      smp,
      seed: task.seed,
      ops: task.ops,
      options: task.options,
      testFaults: task.testFaults,
    });
    const serialized = task.engine === 'serialized';
    if (serialized) {
      installSerialized(control, task.cpu, cpus, task.sched, program.poll.bind(program), task.epochMs);
    } else {
      setSpinHook(program.poll.bind(program));
      installKernelPoints(interleaveConfig(task.options), task.seed, task.cpu, counters);
    }
    markStartup(marks, 'program made');
    startBarrier(control, cpus);
    markStartup(marks, 'barrier passed');
    if (serialized) {
      waitForToken();
      startSharedTraceNumbering(mem);
    }
    phase = 'run';
    const t0 = performance.now();
    try {
      const opsAt = task.cpu * COUNTERS_STRIDE + C.ops;
      const boundary = serialized ? opBoundary : null;
      const crashOp = task.testFaults.crashCpu === task.cpu ? task.testFaults.crashOp ?? 0 : -1;
      if (crashOp >= 0) {
        // The test crash splits the op loop in two instead of testing a
        // flag on every op: the loop itself stays what untested runs run.
        const done = runOps(program, control, counters, opsAt, Math.min(task.ops, crashOp), progress, boundary);
        if (done === crashOp && Atomics.load(control, CONTROL_STOP) === 0) crashNow(task.testFaults.crashHow ?? 'throw', task.cpu, crashOp);
        runOps(program, control, counters, opsAt, task.ops - done, progress, boundary);
      } else {
        runOps(program, control, counters, opsAt, task.ops, progress, boundary);
      }
    } finally {
      runMs = performance.now() - t0;
    }
    phase = 'quiesce';
    program.endOps?.();
    quiesce(smp, program);
  } catch (e) {
    if (e instanceof RunStopped || e instanceof ViolationHalt) {
      // ViolationHalt: this CPU recorded a violation it cannot run past (a
      // lockdep hazard, a user access faulting for ever) and already asked
      // every CPU to stop (src/check/halt.ts): a stop, not a fault.
      stopped = true;
    } else {
      fault = faultInfo(e, phase, progress.op);
      abortRun(mem.views, cpus);
    }
  } finally {
    if (task.engine === 'serialized') {
      leaveSchedule();
      removeSerialized();
    }
    removeKernelPoints();
    setSpinHook(null);
    setLockTraceHook(null);
    clearCpuWake();
    // The MMUs count TLB hits locally; the main thread reads the shared
    // counters once this task returns.
    publishThreadMmuCounters();
  }
  let summary: Record<string, unknown> | null = null;
  if (program !== null) {
    try {
      summary = program.finish();
    } catch (e) {
      fault ??= faultInfo(e, 'quiesce', progress.op);
    }
  }
  if (profiler !== null) await profiler.stopAndWrite(profiling!.cpuProfilePath(task.profileDir!, task.cpu));
  return { cpu: task.cpu, opsDone: Math.max(progress.op, 0), runMs, stopped, fault, summary, startup: marks };
}
