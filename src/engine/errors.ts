// The engine's errors, in one place. Each carries the partial run result
// (filled in by runFree before it rejects) so a caller can still read the
// counters of a failed run.

import type { CpuStateDump } from './dump.js';
import { formatDump } from './dump.js';
import type { CpuPhase } from './task.js';

/** A bad runFree option: names the value and what would be accepted. */
export class EngineConfigError extends Error {
  override name = 'EngineConfigError';
}

/** An exception inside a simulated CPU. */
export class CpuFaultError extends Error {
  override name = 'CpuFaultError';
  /** The run as far as it got (counters, summaries); set by runFree. */
  result: unknown = null;

  constructor(
    readonly cpu: number,
    /** Index of the faulting op on that CPU (-1: before the first op). */
    readonly op: number,
    readonly phase: CpuPhase,
    readonly causeName: string,
    readonly causeMessage: string,
    /** The stack as the worker saw it. */
    readonly workerStack: string,
  ) {
    super(`CPU ${cpu} faulted ${phase === 'run' ? `in op ${op}` : `during ${phase} (after ${Math.max(op, 0)} ops)`}: ${causeName}: ${causeMessage}`);
  }
}

/** A CPU waited for a csd ack longer than the bound: a hung IPI. */
export class WatchdogError extends Error {
  override name = 'WatchdogError';
  result: unknown = null;

  constructor(
    /** The CPU that waited too long. */
    readonly cpu: number,
    readonly waitedMs: number,
    readonly boundMs: number,
    /** Targets whose csd from `cpu` is still locked. */
    readonly waitingFor: readonly number[],
    /** Every CPU's state when the watchdog fired. */
    readonly dump: readonly CpuStateDump[],
    what = `waited ${Math.round(waitedMs)} ms for IPI acks from CPU(s) ${waitingFor.join(', ') || '?'}`,
  ) {
    super(`watchdog: CPU ${cpu} ${what} (bound ${boundMs} ms)\n${formatDump(dump)}`);
  }
}
