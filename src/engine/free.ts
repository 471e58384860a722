// The free engine: one worker thread per simulated CPU (a piscina pool
// pinned to exactly that many threads, one long-running task each), real
// host concurrency, no scheduler. The main thread only sets things up,
// watches and stops: it never blocks (no Atomics.wait here: the workers'
// start-up and results arrive through this thread's event loop).

import { Piscina } from 'piscina';
import { C, COUNTER_NAMES, type CounterName } from '../../native-layout/counters.js';
import { CONTROL_EPOCH, COUNTERS_STRIDE } from '../../native-layout/fields.js';
import { type MachineMemory, createMachineMemory } from '../../native-layout/memory.js';
import { MAX_CPUS, MIN_MEM_BYTES, defaultShape } from '../../native-layout/shape.js';
import { injected, setInjected } from '../check/bugs.js';
import { interleaveConfig } from './kernel-points.js';
import { MAX_PREEMPTIONS, SCHED_POLICIES, type SchedPolicy, initSchedule, runDigest, scheduleSteps } from './serialized.js';
import { type ViolationRecord, violationCount, violationKindCounts, violationRecords } from '../check/oracle.js';
import { lockdepReport } from '../check/lockdep.js';
import { smpInit } from '../kernel/smp.js';
import { checkOptionNames, defaultMemBytes, findScenario } from '../workloads/index.js';
import type { EndCheck, Scenario, ScenarioOptions, TestFaults } from '../workloads/program.js';
import { abortRun, isAborting, requestStop, resetControl, runStarted } from './control.js';
import { captureCpuStates, findHungCpu } from './dump.js';
import { CpuFaultError, EngineConfigError, WatchdogError } from './errors.js';
import type { CpuOutcome, CpuTask } from './task.js';
import { capWorkerYoungGeneration } from './worker-heap.js';
import { type WorkerJitMode, runJitMode, setWorkerJitMode } from './worker-jit.js';
import { runHaltPoll } from './halt-poll.js';
import { HAVE_BUNDLE, WORKER_FILE, WORKER_LOADER, cpuWorkerData } from './worker-code.js';
import { usePerCpuTraceNumbering } from '../trace/ring.js';
import { STARTUP_LOG, type StartupMark, formatStartupLog, markStartup } from './startup-log.js';

/** csd_lock_timeout in the kernel's debug option: 5 s. */
export const DEFAULT_WATCHDOG_MS = 5000;
/** After an abort, how long the CPUs get to unwind before their threads are terminated. */
const ABORT_GRACE_MS = 3000;
/** After a graceful stop, how long past the watchdog bound CPUs get to reach quiescence. */
const STOP_GRACE_MS = 2000;

export interface FreeRunConfig {
  /** Registered scenario name (src/workloads), or a label when programModule is given. */
  readonly scenario: string;
  /** Simulated CPUs; default: the memory's, else 4. */
  readonly cpus?: number;
  /** Stop after this many seconds of running (measured from the start barrier). */
  readonly seconds?: number;
  /** Op budget per CPU. At least one of ops and seconds is required. */
  readonly ops?: number;
  readonly seed?: number;
  /** Injectable bugs to turn on in every CPU (src/check/bugs.ts). */
  readonly inject?: readonly string[];
  /** Run on this machine instead of a fresh one (its shape fixes the CPU count). */
  readonly memory?: MachineMemory;
  /** Size of a fresh machine; default the minimum (8 MiB). */
  readonly memBytes?: number;
  /** A CPU waiting for a csd ack longer than this stops the run with a WatchdogError. */
  readonly watchdogMs?: number;
  readonly options?: ScenarioOptions;
  readonly testFaults?: TestFaults;
  /** file: URL (or path) of an ESM module exporting createCpuProgram(ctx): tests and out-of-tree workloads. */
  readonly programModule?: string | URL;
  /**
   * Scenario files (file: URLs) the CPU workers load before creating their
   * programs: the caller has loaded them into this thread's registry
   * (src/workloads/scenario-file.ts), each worker does the same.
   */
  readonly scenarioFiles?: readonly string[];
  /**
   * Design files (file: URLs, `--design`) the CPU workers load before their
   * kernels follow the variant: loaded in this thread already
   * (src/kernel/design/design-file.ts), each worker does the same.
   */
  readonly designFiles?: readonly string[];
  /** Date.now() of the run start, the zero of the watchdog's timestamps; default now. */
  readonly epochMs?: number;
  /** 'reject' (default): a fault or hang rejects with CpuFaultError / WatchdogError; 'return': it is in result.fault. */
  readonly onFault?: 'reject' | 'return';
  /**
   * 'free' (default): every CPU runs at once. 'serialized': one CPU at a
   * time, chosen by a seeded scheduler at every scheduling point
   * (src/engine/serialized.ts): the same config gives the same run. Needs ops.
   */
  readonly engine?: 'free' | 'serialized';
  /** Seed of the serialized schedule (default 1). */
  readonly schedSeed?: number;
  /** Serialized scheduling policy (default 'random'). */
  readonly sched?: SchedPolicy;
  /** pct: the number of priority change points (default 2, at most MAX_PREEMPTIONS). */
  readonly preemptions?: number;
  /**
   * Aborting it stops the run as a time limit would (every CPU finishes its
   * op, then quiesces; the end check still runs): the CLI's first SIGINT or
   * SIGTERM. The result's stoppedBy is then 'interrupted'.
   */
  readonly interrupt?: AbortSignal;
  /** Called once, on the main thread, when the start barrier opens (every CPU booted): progress displays start here. */
  readonly onStart?: () => void;
  // ---- profiling (shootdown profile) ----
  /** Run V8's CPU profiler in every CPU worker and write cpu-NN.cpuprofile files here. */
  readonly profileDir?: string;
  /** Load the bundled worker when there is one (default true; profiles name source files without it). */
  readonly workerBundle?: boolean;
}

export type Counters = Record<CounterName, number>;

export interface CpuResult {
  readonly cpu: number;
  readonly ops: number;
  readonly runMs: number;
  readonly stopped: boolean;
  /** This CPU's counter block: what the run added to it. */
  readonly counters: Counters;
  readonly summary: Record<string, unknown> | null;
}

export interface FreeRunResult {
  readonly scenario: string;
  readonly cpus: number;
  readonly seed: number;
  /**
   * Why the run ended. 'lockdep': a lockdep hazard halted the machine;
   * 'halt': another violation a CPU could not run past did
   * (user-fault-loop, src/check/halt.ts). Neither is a fault, and neither
   * run gets an end check (CPUs stopped mid-operation).
   */
  readonly stoppedBy: 'ops' | 'time' | 'fault' | 'watchdog' | 'interrupted' | 'lockdep' | 'halt';
  /** lockdep's first report in words (src/check/lockdep.ts), null when it saw no hazard. */
  readonly lockdep: string | null;
  /** Longest CPU op loop (start barrier to last op). */
  readonly durationMs: number;
  /** runFree call to return, pool start-up and teardown included. */
  readonly wallMs: number;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly perCpu: readonly CpuResult[];
  readonly totals: Counters;
  readonly fault: CpuFaultError | WatchdogError | null;
  /** Violations the inline oracle counted during the run (src/check/oracle.ts). */
  readonly violations: number;
  /** The kept records, first violation first: the first few of each kind (src/check/oracle.ts). */
  readonly violationRecords: readonly ViolationRecord[];
  /** Violations counted per kind, kinds with none left out. */
  readonly violationKinds: readonly { kind: string; count: number }[];
  /** The scenario's end-of-run check (null: the scenario has none, or the run faulted). */
  readonly endCheck: EndCheck | null;
  /** endCheck's frames lost, 0 without one. */
  readonly framesLost: number;
  readonly engine: 'free' | 'serialized';
  /** Where the CPU workers ran their optimizing compiles (src/engine/worker-jit.ts). */
  readonly workerJit: WorkerJitMode;
  /** Whether the CPUs halt-polled for csd acks (src/engine/halt-poll.ts). */
  readonly haltPoll: boolean;
  /** Serialized runs: the schedule's seed and policy, and how many decisions it took (0 under the free engine). */
  readonly schedSeed: number;
  readonly sched: SchedPolicy;
  readonly preemptions: number;
  readonly schedSteps: number;
  /**
   * runDigest(): counters, trace rings, oracle record and decisions hashed.
   * Two serialized runs of one config give the same digest.
   */
  readonly digest: string;
}

interface Resolved {
  readonly scenario: string;
  readonly cpus: number;
  readonly seconds: number | null;
  readonly ops: number;
  readonly seed: number;
  readonly inject: readonly string[];
  readonly watchdogMs: number;
  readonly options: ScenarioOptions;
  readonly testFaults: TestFaults;
  readonly programModule: string | null;
  readonly scenarioFiles: readonly string[];
  readonly designFiles: readonly string[];
  readonly epochMs: number;
  readonly onFault: 'reject' | 'return';
  readonly engine: 'free' | 'serialized';
  readonly schedSeed: number;
  readonly sched: SchedPolicy;
  readonly preemptions: number;
  readonly profileDir: string | null;
  readonly workerBundle: boolean;
}

function resolveConfig(config: FreeRunConfig): Resolved {
  const bad = (msg: string): never => {
    throw new EngineConfigError(msg);
  };
  const memCpus = config.memory?.layout.shape.cpus;
  const cpus = config.cpus ?? memCpus ?? 4;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) bad(`cpus ${cpus} is invalid: use 1..${MAX_CPUS}`);
  if (memCpus !== undefined && memCpus !== cpus) bad(`cpus ${cpus} does not match the given memory's ${memCpus} CPUs`);
  const { seconds, ops } = config;
  if (seconds === undefined && ops === undefined) bad('give ops (per CPU), seconds, or both: a run needs an end');
  if (seconds !== undefined && !(seconds > 0 && Number.isFinite(seconds))) bad(`seconds ${seconds} is invalid: use a positive number`);
  if (ops !== undefined && !(ops === Infinity || (Number.isInteger(ops) && ops >= 0))) bad(`ops ${ops} is invalid: use a non-negative integer`);
  const watchdogMs = config.watchdogMs ?? DEFAULT_WATCHDOG_MS;
  if (!(watchdogMs > 0 && Number.isFinite(watchdogMs))) bad(`watchdogMs ${watchdogMs} is invalid: use a positive number of milliseconds`);
  const seed = config.seed ?? 1;
  if (!Number.isInteger(seed)) bad(`seed ${seed} is invalid: use an integer`);
  const never = config.testFaults?.neverAckCpu;
  if (never !== undefined && !(Number.isInteger(never) && never >= 0 && never < cpus)) {
    bad(`testFaults.neverAckCpu ${never} is invalid: use a CPU 0..${cpus - 1}`);
  }
  const crash = config.testFaults?.crashCpu;
  if (crash !== undefined && !(Number.isInteger(crash) && crash >= 0 && crash < cpus)) {
    bad(`testFaults.crashCpu ${crash} is invalid: use a CPU 0..${cpus - 1}`);
  }
  const engine = config.engine ?? 'free';
  if (engine !== 'free' && engine !== 'serialized') bad(`engine "${String(engine)}" is invalid: use free or serialized`);
  if (engine === 'serialized' && (ops === undefined || ops === Infinity)) {
    bad('a serialized run ends by its op budget (ops per CPU): wall time would make it unrepeatable');
  }
  const schedSeed = config.schedSeed ?? 1;
  if (!Number.isInteger(schedSeed)) bad(`schedSeed ${schedSeed} is invalid: use an integer`);
  const sched = config.sched ?? 'random';
  if (!SCHED_POLICIES.includes(sched)) bad(`sched "${String(sched)}" is invalid: use ${SCHED_POLICIES.join(' or ')}`);
  const preemptions = config.preemptions ?? 2;
  if (!Number.isInteger(preemptions) || preemptions < 0 || preemptions > MAX_PREEMPTIONS) {
    bad(`preemptions ${preemptions} is invalid: use 0..${MAX_PREEMPTIONS}`);
  }
  const programModule = config.programModule === undefined ? null : String(config.programModule);
  if (programModule === null) findScenario(config.scenario);
  const inject = config.inject ?? [];
  // Let the registry judge the names (unknown, or not wired yet) with its
  // own error, here rather than in every worker; then leave this thread as
  // it was.
  const saved = Uint8Array.from(injected);
  try {
    setInjected(inject);
  } finally {
    injected.set(saved);
  }
  return {
    scenario: config.scenario,
    cpus,
    seconds: seconds ?? null,
    ops: ops ?? Infinity,
    seed,
    inject: [...inject],
    watchdogMs,
    options: { ...config.options },
    testFaults: { ...config.testFaults },
    programModule,
    scenarioFiles: [...(config.scenarioFiles ?? [])],
    designFiles: [...(config.designFiles ?? [])],
    epochMs: config.epochMs ?? Date.now(),
    onFault: config.onFault ?? 'reject',
    engine,
    schedSeed,
    sched,
    preemptions,
    profileDir: config.profileDir ?? null,
    // SHOOTDOWN_WORKER_BUNDLE=0: the unbundled worker (coverage and profiles map to the source files).
    workerBundle: config.workerBundle ?? process.env['SHOOTDOWN_WORKER_BUNDLE'] !== '0',
  };
}

function counterDelta(after: Float64Array, before: Float64Array, cpu: number): Counters {
  const at = cpu * COUNTERS_STRIDE;
  const out = {} as Counters;
  COUNTER_NAMES.forEach((name, i) => {
    out[name] = after[at + i]! - before[at + i]!;
  });
  return out;
}

/**
 * The main-thread half of a run, without the CPUs: the option names and the
 * scenario's set-up on a fresh machine. Throws what runFree would throw
 * before any CPU starts (ScenarioOptionError, EngineConfigError). A soak
 * calls it for each of its scenarios first, so that a bad combination is
 * refused before any run's results exist.
 */
export function checkRunConfig(config: FreeRunConfig): void {
  const cfg = resolveConfig(config);
  const scenario = findScenario(cfg.scenario);
  const mem = config.memory ?? createMachineMemory(defaultShape({
    memBytes: config.memBytes ?? defaultMemBytes(scenario, cfg.cpus) ?? MIN_MEM_BYTES, cpus: cfg.cpus,
  }));
  smpInit(mem);
  resetControl(mem.views);
  checkOptionNames(scenario, cfg.options);
  interleaveConfig(cfg.options);
  scenario.setup?.({ mem, cpus: cfg.cpus, seed: cfg.seed, options: cfg.options, epochMs: cfg.epochMs });
}

/**
 * Runs a scenario on `cpus` worker threads until every CPU did its ops or
 * `seconds` passed. Rejects with CpuFaultError (an exception in a CPU:
 * which CPU, which op) or WatchdogError (a CPU waited for an IPI ack longer
 * than watchdogMs; carries every CPU's state) unless onFault is 'return'.
 * The pool is terminated in every case.
 */
export async function runFree(config: FreeRunConfig): Promise<FreeRunResult> {
  const wall0 = performance.now();
  const marks: StartupMark[] = [];
  markStartup(marks, 'runFree called');
  const cfg = resolveConfig(config);
  const scenario: Scenario | null = cfg.programModule === null ? findScenario(cfg.scenario) : null;
  const mem = config.memory ?? createMachineMemory(defaultShape({
    memBytes: config.memBytes ?? (scenario ? defaultMemBytes(scenario, cfg.cpus) : undefined) ?? MIN_MEM_BYTES, cpus: cfg.cpus,
  }));
  markStartup(marks, 'memory ready');
  const { views } = mem;
  const cpus = cfg.cpus;
  smpInit(mem);
  resetControl(views);
  // The scenario's shared state (allocator, kernel objects, processes) is
  // made here, on this thread, before any CPU exists; bad options throw
  // from here too.
  if (scenario) checkOptionNames(scenario, cfg.options);
  interleaveConfig(cfg.options);
  // Boot events of a serialized run must not take their numbers in host order (src/trace/ring.ts).
  if (cfg.engine === 'serialized') usePerCpuTraceNumbering(mem);
  scenario?.setup?.({ mem, cpus, seed: cfg.seed, options: cfg.options, epochMs: cfg.epochMs });
  const before = Float64Array.from(views.counters);
  markStartup(marks, 'scenario set up');
  // The schedule's decisions are spread over roughly (ops x scheduling
  // points per op); pct draws its change points in a range of that size.
  if (cfg.engine === 'serialized') initSchedule(mem, cfg.schedSeed, cfg.sched, cfg.preemptions, cpus * cfg.ops * 20);

  const outcomes: (CpuOutcome | null)[] = new Array<CpuOutcome | null>(cpus).fill(null);
  let failure: CpuFaultError | WatchdogError | null = null;
  let abortedAt: number | null = null;
  let stopAt: number | null = null;
  let startedAt: number | null = null;
  let interrupted = false;
  let haltedByCpu = false;

  const abort = (): void => {
    abortedAt ??= performance.now();
    abortRun(views, cpus);
  };
  const fail = (err: CpuFaultError | WatchdogError): void => {
    failure ??= err;
    abort();
  };

  capWorkerYoungGeneration();
  // Oversubscribed: each CPU compiles its own hot code (worker-jit.ts).
  const workerJit = setWorkerJitMode(runJitMode(cfg.engine, cpus));
  // Every CPU has a host core: poll for acks before sleeping (halt-poll.ts).
  const haltPoll = runHaltPoll(cfg.engine, cpus);
  // A scenario or design file or program module imports the unbundled kernel
  // modules: the worker must run those same module instances. Otherwise
  // one bundle (a CPU worker's start-up is mostly loading its code, and 64
  // of them start at once on a few cores), compiled from the main thread's
  // code cache (src/engine/cpu-worker-loader.cts).
  const bundled = cfg.programModule === null && cfg.scenarioFiles.length === 0 && cfg.designFiles.length === 0 && cfg.workerBundle && HAVE_BUNDLE;
  const pool = new Piscina<CpuTask, CpuOutcome>({
    filename: bundled ? WORKER_LOADER : WORKER_FILE,
    ...(bundled ? { workerData: cpuWorkerData() } : {}),
    minThreads: cpus,
    maxThreads: cpus,
    idleTimeout: Infinity,
    concurrentTasksPerWorker: 1,
  });
  markStartup(marks, 'pool created');
  pool.on('error', (err: Error) => fail(new CpuFaultError(-1, -1, 'setup', err.name, err.message, err.stack ?? '')));

  let tick: ReturnType<typeof setInterval> | undefined;
  try {
    await new Promise<void>((resolve) => {
      let left = cpus;
      const settled = (): void => {
        if (--left === 0) resolve();
      };
      for (let cpu = 0; cpu < cpus; cpu++) {
        const task: CpuTask = {
          sab: mem.sab,
          shape: mem.layout.shape,
          cpu,
          scenario: cfg.scenario,
          programModule: cfg.programModule,
          scenarioFiles: cfg.scenarioFiles,
          designFiles: cfg.designFiles,
          seed: cfg.seed,
          ops: cfg.ops,
          inject: cfg.inject,
          options: cfg.options,
          testFaults: cfg.testFaults,
          epochMs: cfg.epochMs,
          engine: cfg.engine,
          haltPoll,
          sched: cfg.sched,
          profileDir: cfg.profileDir,
        };
        pool.run(task).then((o) => {
          outcomes[cpu] = o;
          if (o.fault) {
            const f = o.fault;
            fail(new CpuFaultError(cpu, f.op, f.phase, f.name, f.message, f.stack));
          }
        }, (err: unknown) => {
          // After a CPU halted the machine (src/check/halt.ts), the pool terminates
          // the CPUs still spinning with interrupts off: expected, no fault.
          if (haltedByCpu) return;
          // The task rejected: the worker thread died (killed, or it
          // exited) without a result. If the run had started, it died in
          // its op loop: say so, with the op the shared counters reached.
          const e = err instanceof Error ? err : new Error(String(err));
          const started = runStarted(views.control);
          const op = started ? views.counters[cpu * COUNTERS_STRIDE + C.ops]! - before[cpu * COUNTERS_STRIDE + C.ops]! : -1;
          fail(new CpuFaultError(cpu, op, started ? 'run' : 'setup', e.name, `worker thread died: ${e.message}`, e.stack ?? ''));
        }).finally(settled);
      }

      const tickMs = Math.max(5, Math.min(50, cfg.watchdogMs / 10));
      tick = setInterval(() => {
        const now = performance.now();
        Atomics.add(views.control, CONTROL_EPOCH, 1);
        // A CPU may abort the run itself (src/check/halt.ts): from now on wait
        // only the grace period, as for an abort of ours.
        if (abortedAt === null && isAborting(views.control)) {
          abortedAt = now;
          haltedByCpu = true;
        }
        if (abortedAt !== null) {
          // Keep re-planting the stop markers until every CPU unwound; give
          // up on the stragglers after a grace period (terminate below).
          abortRun(views, cpus);
          if (now - abortedAt > ABORT_GRACE_MS) resolve();
          return;
        }
        if (startedAt === null && runStarted(views.control)) {
          startedAt = now;
          markStartup(marks, 'barrier seen open');
          config.onStart?.();
        }
        if (config.interrupt?.aborted && stopAt === null) {
          interrupted = true;
          stopAt = now;
          requestStop(views);
        }
        if (cfg.seconds !== null && startedAt !== null && stopAt === null && now - startedAt >= cfg.seconds * 1000) {
          stopAt = now;
          requestStop(views);
        }
        const hung = findHungCpu(mem, cfg.epochMs, cfg.watchdogMs);
        if (hung !== null) {
          const dump = captureCpuStates(mem, cfg.epochMs);
          const locked = dump[hung.cpu]!.lockedCsds.map((l) => l.target);
          const waitingFor = locked.includes(hung.target) ? locked : [hung.target, ...locked];
          fail(new WatchdogError(hung.cpu, hung.waitedMs, cfg.watchdogMs, waitingFor, dump));
        } else if (stopAt !== null && now - stopAt > cfg.watchdogMs + STOP_GRACE_MS) {
          const cpu = outcomes.findIndex((o) => o === null);
          const dump = captureCpuStates(mem, cfg.epochMs);
          fail(new WatchdogError(cpu, now - stopAt, cfg.watchdogMs, [], dump,
            `did not reach quiescence ${Math.round(now - stopAt)} ms after the stop request`));
        }
      }, tickMs);
    });
  } finally {
    clearInterval(tick);
    await pool.destroy();
  }

  if (STARTUP_LOG) process.stderr.write(`${formatStartupLog(marks, outcomes.map((o) => o?.startup ?? []))}\n`);
  const after = views.counters;
  const perCpu: CpuResult[] = outcomes.map((o, cpu) => {
    const counters = counterDelta(after, before, cpu);
    return {
      cpu,
      ops: counters.ops,
      runMs: o?.runMs ?? 0,
      stopped: o === null || o.stopped,
      counters,
      summary: o?.summary ?? null,
    };
  });
  const totals = {} as Counters;
  for (const name of COUNTER_NAMES) totals[name] = perCpu.reduce((s, c) => s + c.counters[name], 0);
  const durationMs = perCpu.reduce((m, c) => Math.max(m, c.runMs), 0);
  const fault = failure as CpuFaultError | WatchdogError | null;
  // Every worker is gone: the machine is quiescent. A faulted run may have
  // stopped CPUs mid-operation, so its structures are not checked. So may
  // a CPU that halted the machine after a violation it could not run past
  // (src/check/halt.ts: a lockdep hazard, a user access faulting for ever):
  // the abort it planted is still there (our own aborts come with a fault,
  // stop requests use another value), whether or not the tick saw it.
  const lockdep = lockdepReport(views);
  const halted = fault === null && isAborting(views.control);
  const endCheck = scenario?.endCheck !== undefined && fault === null && !halted ? scenario.endCheck(mem) : null;
  const result: FreeRunResult = {
    scenario: cfg.scenario,
    cpus,
    seed: cfg.seed,
    stoppedBy: fault instanceof WatchdogError ? 'watchdog' : fault !== null ? 'fault' : lockdep !== null ? 'lockdep' : halted ? 'halt' : interrupted ? 'interrupted' : stopAt !== null ? 'time' : 'ops',
    lockdep,
    durationMs,
    wallMs: performance.now() - wall0,
    ops: totals.ops,
    opsPerSec: durationMs > 0 ? totals.ops / (durationMs / 1000) : 0,
    perCpu,
    totals,
    fault,
    violations: violationCount(views),
    violationRecords: violationRecords(views),
    violationKinds: violationKindCounts(views),
    endCheck,
    framesLost: endCheck?.framesLost ?? 0,
    engine: cfg.engine,
    workerJit,
    haltPoll,
    schedSeed: cfg.schedSeed,
    sched: cfg.sched,
    preemptions: cfg.preemptions,
    schedSteps: cfg.engine === 'serialized' ? scheduleSteps(mem) : 0,
    digest: runDigest(mem),
  };
  if (fault !== null) {
    fault.result = result;
    if (cfg.onFault === 'reject') throw fault;
  }
  return result;
}
