// The engines that run simulated CPUs. `free`: one worker thread per CPU,
// real concurrency (this layer knows nothing of page tables).
export { checkRunConfig, runFree, DEFAULT_WATCHDOG_MS } from './free.js';
export type { FreeRunConfig, FreeRunResult, CpuResult, Counters } from './free.js';
export { CpuFaultError, WatchdogError, EngineConfigError } from './errors.js';
export { captureCpuStates, formatDump, findHungCpu } from './dump.js';
export type { CpuStateDump, LockedCsd } from './dump.js';
export type { CpuPhase } from './task.js';
export { SCHED_POLICIES, MAX_PREEMPTIONS, runDigest, firstDifference } from './serialized.js';
export type { SchedPolicy } from './serialized.js';
