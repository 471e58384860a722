// What crosses between the main thread and a CPU worker: one task in, one
// outcome back. Plain data (structured clone); the SharedArrayBuffer inside
// is shared, not copied.

import type { MachineShape } from '../../native-layout/shape.js';
import type { ScenarioOptions, TestFaults } from '../workloads/program.js';
import type { SchedPolicy } from './serialized.js';
import type { StartupMark } from './startup-log.js';

export interface CpuTask {
  readonly sab: SharedArrayBuffer;
  readonly shape: MachineShape;
  readonly cpu: number;
  readonly scenario: string;
  /** file: URL of a module exporting createCpuProgram(ctx); replaces the registry lookup. */
  readonly programModule: string | null;
  /** Scenario files (file: URLs) to load into this worker's registry first. */
  readonly scenarioFiles: readonly string[];
  /** Design files (file: URLs, `--design`) to load into this worker's design registry first. */
  readonly designFiles: readonly string[];
  readonly seed: number;
  /** Op budget of this CPU (Infinity: until stopped). */
  readonly ops: number;
  readonly inject: readonly string[];
  readonly options: ScenarioOptions;
  readonly testFaults: TestFaults;
  /** Date.now() at run start: the zero of every csdWaitSince word. */
  readonly epochMs: number;
  /** 'serialized': run only while holding the run token (src/engine/serialized.ts). */
  readonly engine: 'free' | 'serialized';
  /** Poll long for csd acks before sleeping (src/engine/halt-poll.ts, src/kernel/smp.ts setCsdHaltPoll). */
  readonly haltPoll: boolean;
  readonly sched: SchedPolicy;
  // ---- profiling (shootdown profile) ----
  /** Directory to write this CPU's V8 CPU profile to (cpu-NN.cpuprofile), or null: no profiler. */
  readonly profileDir: string | null;
}

export type CpuPhase = 'setup' | 'run' | 'quiesce';

export interface CpuFaultInfo {
  readonly phase: CpuPhase;
  /** Index of the op that threw (ops completed before it). */
  readonly op: number;
  readonly name: string;
  readonly message: string;
  readonly stack: string;
}

export interface CpuOutcome {
  readonly cpu: number;
  readonly opsDone: number;
  /** From the start barrier to the end of the op loop. */
  readonly runMs: number;
  /** The run was aborted under this CPU (a fault elsewhere, the watchdog). */
  readonly stopped: boolean;
  readonly fault: CpuFaultInfo | null;
  readonly summary: Record<string, unknown> | null;
  /** Start-up stages this CPU reached (src/engine/startup-log.ts); empty unless SHOOTDOWN_STARTUP_LOG=1. */
  readonly startup: readonly StartupMark[];
}
