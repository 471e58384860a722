// One simulated CPU run inline on the calling thread: no worker, no pool,
// the scenario's ops in a plain loop. For profilers that see only the main
// thread (`shootdown profile --clinic` runs this under clinic flame), and
// for anything else that wants a single CPU's code path without threads.
// Same set-up, loop and end-of-run check as the free engine with cpus = 1.

import { C } from '../../native-layout/counters.js';
import { type MachineMemory, createMachineMemory } from '../../native-layout/memory.js';
import { MIN_MEM_BYTES, defaultShape } from '../../native-layout/shape.js';
import { setInjected } from '../check/bugs.js';
import { ViolationHalt } from '../check/halt.js';
import { violationCount } from '../check/oracle.js';
import { publishThreadMmuCounters } from '../hw/mmu.js';
import { bindThreadToCpu } from '../hw/owner.js';
import { makeSmpCtx, smpInit } from '../kernel/smp.js';
import { setSpinHook } from '../sync/hook.js';
import { checkOptionNames, findScenario } from '../workloads/index.js';
import type { EndCheck, ScenarioOptions } from '../workloads/program.js';
import { resetControl, startBarrier } from './control.js';
import { installKernelPoints, interleaveConfig, removeKernelPoints } from './kernel-points.js';

export interface InlineRunConfig {
  readonly scenario: string;
  /** Stop after this many seconds (checked every few ops), or after ops. */
  readonly seconds?: number;
  readonly ops?: number;
  readonly seed?: number;
  readonly inject?: readonly string[];
  readonly options?: ScenarioOptions;
  /** A one-CPU machine to run on; default a fresh one of the scenario's size. */
  readonly memory?: MachineMemory;
}

export interface InlineRunResult {
  readonly ops: number;
  readonly runMs: number;
  readonly violations: number;
  /** Not run when halted. */
  readonly endCheck: EndCheck | null;
  /** The CPU halted on a violation it could not run past (src/check/halt.ts): a lockdep hazard, a user-fault-loop. */
  readonly halted: boolean;
}

/** Ops between two clock reads of the deadline check. */
const CLOCK_EVERY = 32;

/**
 * Runs `scenario` as CPU 0 on this thread. Binds this thread to CPU 0 for
 * the rest of its life (the TLB ownership rule), so call it from a thread
 * (or process) that simulates nothing else.
 */
export function runInline(config: InlineRunConfig): InlineRunResult {
  const scenario = findScenario(config.scenario);
  const options = config.options ?? {};
  const seed = config.seed ?? 1;
  if (config.seconds === undefined && config.ops === undefined) throw new RangeError('runInline: give seconds or ops');
  const mem = config.memory ?? createMachineMemory(defaultShape({ memBytes: scenario.memBytes ?? MIN_MEM_BYTES, cpus: 1 }));
  if (mem.layout.shape.cpus !== 1) throw new RangeError(`runInline: the machine has ${mem.layout.shape.cpus} CPUs, not 1`);
  const epochMs = Date.now();
  smpInit(mem);
  resetControl(mem.views);
  checkOptionNames(scenario, options);
  const interleave = interleaveConfig(options);
  scenario.setup?.({ mem, cpus: 1, seed, options, epochMs });
  setInjected(config.inject ?? []);
  bindThreadToCpu(0);
  const smp = makeSmpCtx(mem, 0, epochMs);
  const program = scenario.create({ cpu: 0, cpus: 1, mem, smp, seed, ops: config.ops ?? Infinity, options, testFaults: {} });
  const counters = mem.views.counters;
  const opsAt = C.ops; // CPU 0's block starts at 0
  setSpinHook(program.poll.bind(program));
  installKernelPoints(interleave, seed, 0, counters);
  let op = 0;
  let halted = false;
  const t0 = performance.now();
  try {
    startBarrier(mem.views.control, 1);
    const budget = config.ops ?? Infinity;
    const deadline = config.seconds === undefined ? Infinity : t0 + config.seconds * 1000;
    for (; op < budget; op++) {
      if (op % CLOCK_EVERY === 0 && performance.now() >= deadline) break;
      program.poll();
      program.step();
      counters[opsAt] += 1;
    }
    program.endOps?.();
    program.poll();
  } catch (e) {
    // A violation the CPU cannot run past (src/check/halt.ts) ends the run
    // with the violation recorded, as it stops a worker CPU.
    if (!(e instanceof ViolationHalt)) throw e;
    halted = true;
  } finally {
    removeKernelPoints();
    setSpinHook(null);
    publishThreadMmuCounters();
  }
  const runMs = performance.now() - t0;
  program.finish();
  // A halted CPU stopped mid-operation: its structures are not checked.
  return { ops: op, runMs, violations: violationCount(mem.views), endCheck: halted ? null : scenario.endCheck?.(mem) ?? null, halted };
}
