// Where the CPU workers' optimizing compiles run.
//
// V8 compiles a hot function with TurboFan on a background thread of the
// process-wide platform pool (a handful of threads shared by every isolate)
// and keeps running it in the baseline tier (Sparkplug, ~5-10x slower here)
// until the job is done. Each worker isolate has its own code: a 64-CPU
// machine makes 64 copies of every job, about 150 compiles and 0.9 s of
// compiler time per CPU worker (measured with --trace-opt on Node 20.20).
// When simulated CPUs outnumber host cores, the host scheduler shares the
// cores fairly among runnable threads: four compiler threads against 64
// runnable CPU workers get 4/68 of the host, so the compiles queue for
// minutes while every CPU runs baseline code. On a 2-core host, tlb-flush2
// in processes mode at 64 CPUs still spent 61% of its host CPU in baseline
// builtins and inline-cache handlers 70 s into the run (perf), at ~150 us
// of host CPU per op against ~12 us at 8 CPUs.
//
// Compiling on the worker's own thread (--no-concurrent-recompilation,
// --no-concurrent-osr) charges each compile to the CPU that wants it, in
// that CPU's fair share: the same run reached ~100k ops/s within 30 s
// instead of ~15k. With cores to spare the background threads are free
// and the default is better, so the mode follows the run's oversubscription.
//
// The flags are process-wide and read when an isolate starts: set them
// from the engine, right before starting CPU workers (worker-heap.ts sets
// its flag the same way). They are also part of the flag hash V8 checks a
// code cache against, so the workers' code cache is kept per mode
// (worker-code.ts).

import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';

/** How CPU workers started from now on compile hot functions. */
export type WorkerJitMode = 'background' | 'on-cpu';

let current: WorkerJitMode = 'background';

/** Environment variable that overrides the choice (for A/B measurements). */
export const WORKER_JIT_ENV = 'SHOOTDOWN_WORKER_JIT';

/**
 * The mode for a run of `cpus` simulated CPUs on this host: 'on-cpu' when
 * they outnumber the host's cores (os.availableParallelism()), else
 * 'background' (V8's default). SHOOTDOWN_WORKER_JIT=background|on-cpu
 * overrides it; any other value is an error (thrown as a RangeError naming
 * the valid values).
 */
export function jitModeFor(cpus: number, env: Readonly<Record<string, string | undefined>> = process.env): WorkerJitMode {
  const forced = env[WORKER_JIT_ENV];
  if (forced !== undefined && forced !== '') {
    if (forced === 'background' || forced === 'on-cpu') return forced;
    throw new RangeError(`${WORKER_JIT_ENV}=${forced} is not a mode: use background or on-cpu`);
  }
  return cpus > availableParallelism() ? 'on-cpu' : 'background';
}

/**
 * The mode runFree gives a run's CPU workers. The serialized engine runs
 * one CPU at a time, which leaves host cores to V8's compiler threads, so
 * it keeps the default whatever the CPU count or SHOOTDOWN_WORKER_JIT; the
 * free engine follows jitModeFor. Reports and soak summaries name it from
 * here, so what they say is what the engine set.
 */
export function runJitMode(engine: 'free' | 'serialized', cpus: number, env: Readonly<Record<string, string | undefined>> = process.env): WorkerJitMode {
  return engine === 'serialized' ? 'background' : jitModeFor(cpus, env);
}

/**
 * Sets the V8 flags for the CPU workers started from now on (process-wide;
 * no effect on isolates already running). Returns the mode in force.
 * Source: V8's --concurrent-recompilation and --concurrent-osr.
 */
export function setWorkerJitMode(mode: WorkerJitMode): WorkerJitMode {
  if (mode !== current) {
    setFlagsFromString(mode === 'on-cpu'
      ? '--no-concurrent-recompilation --no-concurrent-osr'
      : '--concurrent-recompilation --concurrent-osr');
    current = mode;
  }
  return current;
}

/** The mode in force for workers started now. */
export function workerJitMode(): WorkerJitMode {
  return current;
}
