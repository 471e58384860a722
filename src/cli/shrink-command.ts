// `shootdown shrink "<replay line>" | --from REPORT`: the smallest case that
// still fails the same way (src/replay/shrink.ts), printed as its replay
// line, with the reduction and the failing run's violation and last trace
// events.
//
// Exit codes: 0 a smallest case was printed (it may equal the start when
// nothing smaller reproduced); 1 the start case does not fail; 2 bad input
// (not a serialized replay line, a report of a free-engine run);
// 130/143 interrupted.

import { readFileSync } from 'node:fs';
import { decodeReportFile, ReportFileError } from '../report/report-file.js';
import { MATCH_MODES, failureKey } from '../replay/failure-site.js';
import { formatReplayLine, parseReplayLine, ReplayLineError, type ReplayCase } from '../replay/replay-line.js';
import { runCase, specOfCase, withExplicitMem } from '../replay/run-case.js';
import { NotReproducedError, shrinkCase } from '../replay/shrink.js';
import { CheckFailedError, UsageError } from './errors.js';
import { FORMATS } from './format.js';
import { InterruptGuard, InterruptedError } from './interrupt.js';
import { parseChoice, parseIntInRange } from './parse.js';
import { progressWanted } from './progress.js';
import { parseSeconds } from './run-command.js';
import { stepProgress } from './step-progress.js';
import { restoreTerminal } from './terminal.js';

export interface ShrinkCliOptions {
  from?: string;
  seconds: string;
  seeds: string;
  /** site (default) or kind: what "fails the same way" means (failure-site.ts). */
  match: string;
  format: string;
  progress?: boolean;
}

function caseFromReport(path: string): ReplayCase {
  let report;
  try {
    report = decodeReportFile(readFileSync(path));
  } catch (e) {
    if (e instanceof ReportFileError) throw new UsageError(`--from "${path}" ${e.message}`);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`--from "${path}": no such file`);
    throw e;
  }
  if (report['engine'] !== 'serialized') {
    throw new UsageError(`--from "${path}" is a ${String(report['engine'] || 'free')}-engine run, which does not replay: run 'shootdown hunt ${path}' for a serialized replay line first`);
  }
  return parseReplayLine(String(report['rerun']));
}

/** Total ops of a case: CPUs x ops per CPU. */
const totalOps = (c: ReplayCase): number => c.cpus * c.ops;

export async function runShrink(line: string | undefined, o: ShrinkCliOptions, print: (t: string) => void): Promise<void> {
  const format = parseChoice('--format', o.format, FORMATS);
  const seconds = parseSeconds(o.seconds);
  const seeds = parseIntInRange('--seeds', o.seeds, 0, 1000);
  const match = parseChoice('--match', o.match, MATCH_MODES);
  if ((line === undefined) === (o.from === undefined)) {
    throw new UsageError('shrink: give either a replay line (in quotes) or --from REPORT, not both or neither');
  }
  let start: ReplayCase;
  try {
    start = withExplicitMem(line !== undefined ? parseReplayLine(line) : caseFromReport(o.from!));
  } catch (e) {
    if (e instanceof ReplayLineError) throw new UsageError(`shrink: ${e.message}`);
    throw e;
  }
  specOfCase(start); // scenario, variant, bugs and size checked before the first run

  const bar = stepProgress(progressWanted(o.progress !== false && format === 'table'));
  const guard = new InterruptGuard().install();
  const t0 = performance.now();
  let result;
  let last;
  try {
    result = await shrinkCase(start, { seedsPerCandidate: seeds, budgetSeconds: seconds, progress: bar.update, stop: () => guard.which !== null, match });
    // The smallest case once more: its violation and trace for the report (and one more check that it replays).
    last = await runCase(result.smallest);
  } catch (e) {
    if (e instanceof NotReproducedError) throw new CheckFailedError(`shrink: ${formatReplayLine(start)}: ${e.message}`);
    throw e;
  } finally {
    bar.stop();
    restoreTerminal();
    guard.dispose();
  }
  const s = result.smallest;
  const reduction = 1 - totalOps(s) / totalOps(start);
  const replay = formatReplayLine(s);
  const report = last.outcome.report;
  const records = report['violationRecords'] as Record<string, unknown>[];
  if (format === 'json') {
    print(JSON.stringify({
      signature: result.signature.split(' [')[0], key: result.signature, match, start: formatReplayLine(start), smallest: replay, steps: result.steps, runs: result.runs,
      cut: result.cut, seconds: (performance.now() - t0) / 1000,
      cpus: [start.cpus, s.cpus], ops: [start.ops, s.ops], totalOps: [totalOps(start), totalOps(s)], reduction,
      preemptions: [start.preemptions, s.preemptions], optionsDropped: Object.keys(start.options).filter((k) => !(k in s.options)),
      replays: failureKey(last.outcome.report, match) === result.signature, violation: records[0] ?? null,
    }, null, 2));
  } else {
    const lines = [
      `shrink: ${result.signature}: cpus ${start.cpus} -> ${s.cpus}, ops per CPU ${start.ops} -> ${s.ops}, total ops ${totalOps(start)} -> ${totalOps(s)} (${(100 * reduction).toFixed(1)}% fewer)${start.sched === 'pct' ? `, preemptions ${start.preemptions} -> ${s.preemptions}` : ''}`,
      `shrink: ${result.steps.length} step(s) kept in ${result.runs} serialized runs, ${((performance.now() - t0) / 1000).toFixed(1)} s${result.cut ? ' (budget reached: a smaller case may exist; raise --seconds)' : ''}`,
      ...result.steps.map((st) => `  ${st}`),
      `smallest: ${replay}`,
    ];
    const v = records[0];
    if (v) {
      lines.push(`violation: ${String(v['kind'])} on cpu ${String(v['cpu'])} va 0x${(v['va'] as number).toString(16)} pfn ${String(v['pfn'])} generation ${String(v['fillGen'])} -> ${String(v['frameGen'])} at op ${String(v['op'])}`);
      const events = v['lastEvents'] as { cpu: number; op: number; kind: string; args: string }[];
      if (events.length > 0) lines.push('last events (per CPU, oldest first):');
      for (const e of events) lines.push(`  cpu ${e.cpu} op ${e.op} ${e.kind} ${e.args}`);
    } else if (report['fault']) {
      lines.push(`fault: ${String(report['fault']).split('\n')[0]}`);
    }
    print(lines.join('\n'));
  }
  if (guard.which !== null) throw new InterruptedError(guard.which, `shrink: interrupted by ${guard.which}; the smallest case so far is above`);
  if (failureKey(last.outcome.report, match) !== result.signature) throw new CheckFailedError('shrink: the smallest case did not fail again when replayed (an emulator nondeterminism bug)');
}
