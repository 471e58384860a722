// The library API: `import { runScenario, compare } from 'shootdown'`. A
// test suite (vitest, node:test) runs a scenario, built-in or its own, and
// asserts on the RunReport; a scenario author gets the kernel's system
// calls, user accesses and task words. Everything here is what the CLI
// uses, behind defaults a test wants (4 CPUs, 2,000 ops per CPU, asi-off).

import { defaultShape } from '../native-layout/shape.js';
import { loadProfile } from './cost/profile.js';
import { checkRunSpec, runOnce } from './cli/run-once.js';
import { UsageError } from './cli/errors.js';
import { SCENARIOS, defaultMemBytes, findScenario } from './workloads/index.js';
import { parseVariant } from './kernel/variant.js';
import { type MetricSummary, metricsFor, summarize } from './report/compare.js';
import type { RunReport } from './report/run-report-type.js';
import type { RunReportObject } from './report/run-report.js';
import { compareVariantNames, loadDesigns } from './cli/design-option.js';
import { loadScenarioFile } from './workloads/scenario-file.js';
import { loadDesignFile } from './kernel/design/design-file.js';

export type { RunReportObject } from './report/run-report.js';
export type {
  RunReport, RunReportBase, ReportTotals, CounterValues, ReportCpuCounters, ReportViolationRecord, ReportTraceEvent,
} from './report/run-report-type.js';
export { COUNTER_NAMES, type CounterName } from '../native-layout/counters.js';
export type { MetricSummary, VariantSummary } from './report/compare.js';
export type { CpuProgram, EndCheck, ProgramCtx, Scenario, ScenarioOptions, SetupCtx } from './workloads/program.js';
export type { KernelCtx } from './kernel/ctx.js';
export { SCENARIOS, registerScenario, findScenario } from './workloads/index.js';
export { loadScenarioFile, ScenarioFileError } from './workloads/scenario-file.js';
export { BUG_CATALOG } from './check/bugs.js';
export { VIOLATION_NAMES } from './check/oracle.js';

// ---- writing a scenario (see `shootdown new scenario NAME`) ----------------
export { defineMmScenario, KIND_DEFINED, type MmScenarioSpec, type DefinedOptions, type IntOptionSpec } from './workloads/mm/define.js';
export { MmCpu } from './workloads/mm/runner.js';
export { ScenarioOptionError } from './workloads/mm/options.js';
export {
  PAGE, CHUNK_PAGES, W_PHASE, W_ITER, W_REGION, W_PAGES, W_INDEX, W_NTHREADS, W_AUX0, W_AUX1, W_AUX2,
  chunkVpn, contentOf, secretOf, mmDomain, tw, setTw, readbackViolation,
} from './workloads/mm/common.js';
export { touchPages, verifyPages, expectZero, expectSegv } from './workloads/mm/user-ops.js';
export { setupMmapError } from './workloads/mm/machine.js';
export { sysMmap } from './kernel/mm/mmap.js';
export { sysMunmap } from './kernel/mm/munmap.js';
export { sysMadviseDontneed } from './kernel/mm/madvise.js';
export { sysMprotect } from './kernel/mm/mprotect.js';
export { userRead, userWrite } from './kernel/mm/uaccess.js';
export { taskMm } from './kernel/sched/task.js';
export { VM_READ, VM_WRITE } from '../native-layout/bits.js';

// ---- writing a design (see `shootdown new design NAME`, README "Extension points") ----
export type {
  Design, ResolvedDesign, FlushPolicy, LazyTlbPolicy, AsiPolicy, EphemeralMapPolicy, FlipPolicy, RmqueueFlip,
} from './kernel/design/types.js';
export type { AsiOps } from './kernel/asi/ops.js';
export type { CopyFromPageCache } from './kernel/mm/copy-page-cache.js';
export type { CopyUserPage } from './kernel/mm/copy-user-page.js';
export type { AllocCtx } from './kernel/page_alloc/ctx.js';
export { POLICY_KEYS } from './kernel/design/types.js';
export {
  FLUSH_IPI, FLUSH_INVLPGB, LAZY_TLB_LINUX, FLIP_LINUX, EPHEMERAL_NONE, EPHEMERAL_PHYSMAP, EPHEMERAL_EPHMAP, EPHEMERAL_MERMAP,
  BUILTIN_DESIGN_VARIANTS, asiPolicyFor, ephemeralPolicyFor, builtinDesign, builtinDesigns,
} from './kernel/design/builtins.js';
export { registerDesign, checkDesign, DesignShapeError } from './kernel/design/register.js';
export { loadDesignFile, DesignFileError } from './kernel/design/design-file.js';
export { userDesigns, type RegisteredDesign } from './kernel/design/registry.js';
export { resolveDesign } from './kernel/design/apply.js';
export {
  DESIGN_WINDOW_FIRST, DESIGN_WINDOW_PAGES, currentMm, designPageVa, designPageMap, designPageClear, flushLocalPage,
  flushLocalAllPcids,
} from './kernel/design/kit.js';
export { parseVariant, type Variant } from './kernel/variant.js';
export { ephemeralRead, ephmapGet, ephmapPut } from './kernel/ephmap/ephmap.js';
export { ephemeralMarkStale, ephemeralStale, mitigationFlush } from './kernel/ephmap/mitigation.js';
export { kernelReadPhysmap, kernelWritePhysmap } from './kernel/asi/access.js';
export { currentTask } from './kernel/sched/core.js';
export { migrateDisable, migrateEnable } from './kernel/sched/migrate.js';
export { invlpgbMaskWorthIt } from './kernel/tlb/invlpgb.js';
export { enterLazyTlb } from './kernel/tlb/switch-mm.js';
export { rmqueueFlip } from './kernel/page_alloc/flip.js';
export {
  asiEnter, asiExit, ASI_EXIT_CONTEXT_SWITCH, ASI_EXIT_TLB_FLUSH, loadAsiCr3Flush, loadAsiCr3Tracked, loadSensitiveCr3Flush,
  loadSensitiveCr3Noflush,
} from './kernel/asi/enter-exit.js';
export { readFrame, writeFrame } from './hw/frames.js';

/** What runScenario runs; every field but `scenario` has a default. */
export interface RunScenarioOptions {
  /** A registered scenario's name; with `scenarioFile` alone, that file's scenario. */
  readonly scenario?: string;
  /** Path of a scenario module to load first (as `--scenario-file`). */
  readonly scenarioFile?: string;
  /** Path of a design module to load first (as `--design`); it runs unless `variant` names another design. */
  readonly design?: string;
  /** Simulated CPUs, 1..64 (default 4). */
  readonly cpus?: number;
  /** Ops per CPU (default 2000 unless `seconds` is given). */
  readonly ops?: number;
  /** Seconds of running instead of (or beside) an op budget. */
  readonly seconds?: number;
  readonly seed?: number;
  /** A design (`--variant` grammar, default asi-off). */
  readonly variant?: string;
  /** Injectable bugs (BUG_CATALOG names). */
  readonly inject?: readonly string[];
  /** Scenario options, as `--option key=value`. */
  readonly options?: Readonly<Record<string, number | string | boolean>>;
  /** Emulated memory in bytes (default: the scenario's own size). */
  readonly memBytes?: number;
  /** CPU profile for simulated time (default spr). */
  readonly profile?: string;
  readonly watchdogMs?: number;
}

/**
 * Runs one scenario with the oracle on and returns its RunReport (the
 * object `run --format json` prints: totals, perCpu, violationRecords,
 * violationKinds, endCheck, fault, simulated time). Never throws for a
 * violation: assert on `report.totals.violations`.
 *
 * Errors: UsageError (bad scenario, variant, option or bug name: one line,
 * as the CLI prints it), ScenarioFileError (a bad scenario file).
 */
export async function runScenario(o: RunScenarioOptions): Promise<RunReport> {
  const fromFile = o.scenarioFile !== undefined ? await loadScenarioFile(o.scenarioFile) : null;
  const scenario = o.scenario ?? fromFile?.name;
  if (scenario === undefined) throw new UsageError(`runScenario: give scenario (one of ${SCENARIOS.map((s) => s.name).join(', ')}) or scenarioFile`);
  findScenario(scenario);
  const design = o.design !== undefined ? await loadDesignFile(o.design) : null;
  const cpus = o.cpus ?? 4;
  const spec = {
    scenario,
    shape: defaultShape({ memBytes: o.memBytes ?? defaultMemBytes(findScenario(scenario), cpus) ?? 256 * 2 ** 20, cpus }),
    seed: o.seed ?? 1,
    variant: parseVariant(o.variant ?? design?.name ?? 'asi-off').name,
    inject: [...(o.inject ?? [])],
    watchdogMs: o.watchdogMs ?? 5000,
    options: { ...o.options },
    profile: o.profile ?? 'spr',
    ...(o.seconds !== undefined ? { seconds: o.seconds } : {}),
    ...(o.ops !== undefined || o.seconds === undefined ? { ops: o.ops ?? 2000 } : {}),
  };
  loadProfile(spec.profile);
  checkRunSpec(spec);
  // runOnce's report is built by buildRunReport (checked against RunReportBase)
  // plus the design and simulated-time fields: the RunReport shape.
  return (await runOnce(spec)).report as unknown as RunReport;
}

/** What compare runs: variants of one scenario over seeds 1..samples. */
export interface CompareOptions extends Omit<RunScenarioOptions, 'variant' | 'seed'> {
  /**
   * The designs, the base first (e.g. ['asi-off', 'asi-on+ephmap', './mine.mjs']): a
   * path is loaded as a design module and stands for its name (as `compare --variant`).
   */
  readonly variants: readonly string[];
  /** A design module run beside `variants` (added at the end unless they name it), as `compare --design`. */
  readonly design?: string;
  /** Seeds per variant (default 3). */
  readonly samples?: number;
}

/**
 * Runs every variant over `samples` seeds and summarises each of the
 * scenario's metrics per variant (mean, min, max, stddev, delta against the
 * first variant with a better/worse verdict): the `compare` command's
 * `metrics[]`, with the reports themselves.
 */
export async function compare(o: CompareOptions): Promise<{ metrics: MetricSummary[]; reports: Map<string, RunReport[]> }> {
  // The CLI's path: design files in `variants` stand for their designs'
  // names, and `design` is added at the end unless the list names it.
  const designs = await loadDesigns(o.design !== undefined ? [o.design] : []);
  const variants = await compareVariantNames(o.variants, designs);
  if (variants.length === 0) throw new UsageError('compare: give at least one variant');
  const { design: _design, ...rest } = o;
  const reports = new Map<string, RunReport[]>(variants.map((v) => [v, []]));
  for (let seed = 1; seed <= (o.samples ?? 3); seed++) {
    for (const variant of variants) reports.get(variant)!.push(await runScenario({ ...rest, variant, seed }));
  }
  const scenario = reports.get(variants[0]!)![0]!.scenario;
  return { metrics: summarize(metricsFor(scenario), reports as unknown as Map<string, RunReportObject[]>), reports };
}
