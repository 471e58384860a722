// SHOOTDOWN_STARTUP_LOG=1: where a run's start-up goes, stage by stage.
// Off by default (then every mark is one boolean test). The main thread
// marks its own stages; each CPU worker keeps its marks in a small array
// and returns them with its outcome, and the main thread prints one table
// on stderr at the end of the run: each stage's time since the process
// started (main) or its first / median / last CPU (workers). Times are
// absolute (performance.timeOrigin + now, which both threads share the
// zero of), so a worker's mark and the main thread's compare directly.

/** Is the start-up log on (SHOOTDOWN_STARTUP_LOG=1)? Read once per thread. */
export const STARTUP_LOG = process.env['SHOOTDOWN_STARTUP_LOG'] === '1';

/** One stage reached: its name and the absolute time (ms since the epoch, sub-ms). */
export interface StartupMark {
  readonly stage: string;
  readonly at: number;
}

/** Absolute now (ms since the epoch, sub-ms resolution). */
export function absNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Appends a mark to `marks` when the log is on (a no-op otherwise). */
export function markStartup(marks: StartupMark[], stage: string): void {
  if (STARTUP_LOG) marks.push({ stage, at: absNow() });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * The table: main-thread stages in order, then every worker stage (in the
 * order the first CPU reached them) as first / median / last over CPUs, in
 * ms since the main thread's start. `cpuMarks` has one list per CPU (empty
 * for a CPU that returned nothing).
 */
export function formatStartupLog(main: readonly StartupMark[], cpuMarks: readonly (readonly StartupMark[])[]): string {
  const t0 = performance.timeOrigin;
  const ms = (x: number): string => (x - t0).toFixed(1).padStart(9);
  const lines = ['startup log (ms since process start)', '  main:'];
  for (const m of main) lines.push(`    ${m.stage.padEnd(24)} ${ms(m.at)}`);
  const stages: string[] = [];
  for (const marks of cpuMarks) for (const m of marks) if (!stages.includes(m.stage)) stages.push(m.stage);
  if (stages.length > 0) {
    lines.push(`  cpus (${cpuMarks.filter((m) => m.length > 0).length}): stage, first / median / last CPU`);
    for (const stage of stages) {
      const at = cpuMarks.flatMap((marks) => marks.filter((m) => m.stage === stage).map((m) => m.at));
      lines.push(`    ${stage.padEnd(24)} ${ms(Math.min(...at))} ${ms(median(at))} ${ms(Math.max(...at))}`);
    }
  }
  return lines.join('\n');
}
