// What a scenario gives the engine for each CPU: a program of ops. The
// engine owns the loop (start barrier, stop flag, op budget, quiescing);
// the program owns what an op does.

import type { MachineMemory } from '../../native-layout/memory.js';
import type { SmpCtx } from '../kernel/smp.js';

/**
 * Faults that exist only to test the engine itself (they are not kernel
 * bugs and are not in the bug catalogue).
 */
export interface TestFaults {
  /** This CPU's IPI handler never returns (it only notices an aborted run): the watchdog must fire. */
  readonly neverAckCpu?: number;
  // --- soak fault survival (issue 10) ---
  /**
   * This CPU fails when it reaches op `crashOp`: 'throw' raises an exception
   * in the CPU (a CPU fault), 'exit' ends its worker thread at once as a
   * kill would (no unwinding, no result). Tests of the soak's fault
   * handling only; the engine checks for it between op batches, never on
   * the op loop's hot path.
   */
  readonly crashCpu?: number;
  readonly crashOp?: number;
  readonly crashHow?: 'throw' | 'exit';
}

/** Scenario options: plain values, so they cross to the workers unchanged. */
export type ScenarioOptions = Readonly<Record<string, number | string | boolean>>;

export interface ProgramCtx {
  readonly cpu: number;
  readonly cpus: number;
  readonly mem: MachineMemory;
  readonly smp: SmpCtx;
  /** The run's seed; combine it with `cpu` for this CPU's stream. */
  readonly seed: number;
  /** This CPU's op budget (Infinity for a time-bounded run). */
  readonly ops: number;
  readonly options: ScenarioOptions;
  readonly testFaults: TestFaults;
}

export interface CpuProgram {
  /** One op. IPIs are taken by the engine between ops (poll) and inside waits (the spin hook). */
  step(): void;
  /** Takes pending IPIs; installed as the spin hook. A load and a compare when none are pending. */
  poll(): void;
  /**
   * Called once after the last op (budget done or stop requested), before
   * the CPU quiesces: leave interrupts enabled and nothing held, since the
   * CPU must go on answering IPIs. The engine enables interrupts after it
   * in any case.
   */
  endOps?(): void;
  /** This CPU's summary once the run is over; must be structured-cloneable. */
  finish(): Record<string, unknown>;
}

/** What a scenario's one-time machine set-up gets (on the main thread, before any CPU starts). */
export interface SetupCtx {
  readonly mem: MachineMemory;
  readonly cpus: number;
  readonly seed: number;
  readonly options: ScenarioOptions;
  /** Date.now() of the run start (the zero of the CPUs' run-relative clocks). */
  readonly epochMs: number;
}

/** The end-of-run check's verdict (a scenario that boots a kernel supplies one). */
export interface EndCheck {
  /** One line per problem found at quiescence; empty when healthy. */
  readonly violations: string[];
  /** Frames neither free nor reachable from a live address space. */
  readonly framesLost: number;
}

export interface Scenario {
  readonly name: string;
  /** One line for `--list` output. */
  readonly description: string;
  /** Memory for a fresh machine when the run does not say (bytes); the engine's minimum otherwise. */
  readonly memBytes?: number;
  /**
   * Every --option key the scenario reads; any other key is refused at the
   * edge with the list (a typo must not run the defaults silently).
   */
  readonly optionNames: readonly string[];
  /** Boots what the CPUs share (allocator, kernel objects, processes); throws on bad options. */
  setup?(ctx: SetupCtx): void;
  create(ctx: ProgramCtx): CpuProgram;
  /** The check at quiescence, after every CPU stopped (main thread). */
  endCheck?(mem: MachineMemory): EndCheck;
}
