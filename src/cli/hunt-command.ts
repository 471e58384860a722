// `shootdown hunt <scenario | report.pb>`: from a free-engine failure to an
// exact replay line (src/replay/hunt.ts does the search). With a scenario,
// the free engine runs first until something fails; with a report file
// (run --out, a soak's run file) its failure is the target and the free
// phase is skipped.
//
// Exit codes: 0 a replay line was found (printed on stdout); 1 a failure
// was seen but no serialized schedule within the budget reproduced it;
// 5 nothing failed at all within the budget (no target); 2 bad input;
// 130/143 interrupted.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { decodeReportFile, ReportFileError } from '../report/report-file.js';
import { DEFAULT_PROFILE } from '../cost/profile.js';
import { formatReplayLine, type ReplayCase } from '../replay/replay-line.js';
import { failureSignature, specOfCase, withExplicitMem } from '../replay/run-case.js';
import { type FreeFind, type HuntBase, huntFree, huntSerialized, reproductionRate } from '../replay/hunt.js';
import { MATCH_MODES, failureSite } from '../replay/failure-site.js';
import { CheckFailedError, NothingFoundError, UsageError } from './errors.js';
import { FORMATS } from './format.js';
import { InterruptGuard, InterruptedError } from './interrupt.js';
import { parseChoice, parseIntInRange } from './parse.js';
import { parseSeconds } from './run-command.js';
import { parseScenarioOptions } from './scenario-options.js';
import { stepProgress } from './step-progress.js';
import { restoreTerminal } from './terminal.js';
import { progressWanted } from './progress.js';

export interface HuntOptions {
  cpus: string;
  seed: string;
  mem?: string;
  variant: string;
  inject: string[];
  option: string[];
  watchdogMs: string;
  profile: string;
  seconds: string;
  tries: string;
  sample: string;
  maxOps: string;
  format: string;
  progress?: boolean;
  /** kind: the same violation kind; site (default): also the same site (failure-site.ts). */
  match: string;
}

/** Share of the time budget the free phase may use; the rest is the schedule search's. */
const FREE_SHARE = 0.5;
/** Longest single free run: short runs give the search several seeds. */
const FREE_CHUNK_SECONDS = 10;

interface Target {
  readonly base: HuntBase;
  /** Set when the target came from a report: its failure. */
  readonly signature: string | null;
  /** Set with signature: its site ('' when the kind is the site). */
  readonly site: string;
  /** The op of the report's first violation (a budget hint for the search), 0 if none. */
  readonly hintOps: number;
  readonly from: string;
}

function targetFromReport(path: string): Target {
  let report;
  try {
    report = decodeReportFile(readFileSync(path));
  } catch (e) {
    if (e instanceof ReportFileError) throw new UsageError(`hunt: "${path}" ${e.message}`);
    throw e;
  }
  const signature = failureSignature(report);
  if (signature === null) throw new UsageError(`hunt: "${path}" is the report of a run that passed: there is nothing to hunt`);
  const base: HuntBase = {
    scenario: String(report['scenario']), cpus: Number(report['cpus']), seed: Number(report['seed']),
    memMiB: Number(report['memBytes']) / 2 ** 20, variant: String(report['variant']), inject: report['inject'] as string[],
    options: parseScenarioOptions(report['options'] as string[]), watchdogMs: Number(report['watchdogMs']) || 5000,
    profile: String(report['profile'] || DEFAULT_PROFILE),
  };
  const record = (report['violationRecords'] as { op: number }[])[0];
  return { base, signature, site: failureSite(report), from: path, hintOps: record?.op ?? 0 };
}

export async function runHunt(arg: string | undefined, o: HuntOptions, print: (t: string) => void): Promise<void> {
  if (!arg) throw new UsageError('hunt: name a scenario (see run --list) or a report file written by run --out');
  const format = parseChoice('--format', o.format, FORMATS);
  const seconds = parseSeconds(o.seconds);
  const tries = parseIntInRange('--tries', o.tries, 1, 1_000_000);
  const sample = parseIntInRange('--sample', o.sample, 0, 1000);
  const maxOps = parseIntInRange('--max-ops', o.maxOps, 1, 1_000_000);
  const match = parseChoice('--match', o.match, MATCH_MODES);
  const isFile = existsSync(arg) && statSync(arg).isFile();
  const target: Target = isFile ? targetFromReport(arg) : {
    base: {
      scenario: arg, cpus: parseIntInRange('--cpus', o.cpus, 1, 64), seed: parseIntInRange('--seed', o.seed, 0, 2 ** 32 - 1),
      memMiB: 0, variant: o.variant, inject: o.inject, options: parseScenarioOptions(o.option),
      watchdogMs: parseIntInRange('--watchdog-ms', o.watchdogMs, 10, 3_600_000), profile: o.profile,
    },
    signature: null, site: '', from: arg, hintOps: 0,
  };
  // The schedule fields are placeholders until the search picks them.
  const probe: ReplayCase = withExplicitMem({
    ...target.base, ...(o.mem !== undefined && !isFile ? { memMiB: memMiBOf(o.mem) } : {}), ops: 1, schedSeed: 1, sched: 'random', preemptions: 0,
  });
  // Everything (scenario, variant, bugs, size) is validated before the first run; the variant is kept in its canonical spelling.
  const { ops: _o, schedSeed: _s, sched: _p, preemptions: _k, ...rest } = probe;
  let base: HuntBase = { ...rest, variant: specOfCase(probe).variant };

  const tty = progressWanted(o.progress !== false && format === 'table');
  const bar = stepProgress(tty);
  const guard = new InterruptGuard().install();
  const stop = (): boolean => guard.which !== null;
  const t0 = performance.now();
  let free: FreeFind | null = null;
  let signature = target.signature;
  // What the serialized search must reproduce: the kind, with --match site also its site.
  let key = signature === null ? null : match === 'kind' || target.site === '' ? signature : `${signature} [${target.site}]`;
  let result: Awaited<ReturnType<typeof huntSerialized>> = null;
  let rate: Awaited<ReturnType<typeof reproductionRate>> | null = null;
  try {
    if (signature === null) {
      free = await huntFree(base, specOfCase, seconds * FREE_SHARE, Math.min(FREE_CHUNK_SECONDS, seconds * FREE_SHARE), bar.update, stop, match);
      if (free !== null) {
        signature = free.signature;
        key = free.key;
        // The serialized search uses the seed that failed.
        base = { ...base, seed: free.seed };
      }
    }
    if (key !== null && !stop()) {
      const left = seconds - (performance.now() - t0) / 1000;
      result = await huntSerialized(base, key, tries, Math.max(left, 1), maxOps, bar.update, stop, free?.op ?? target.hintOps, match);
      if (result !== null && !stop()) rate = await reproductionRate(result.found, key, result.digest, sample, bar.update, stop, match);
    }
  } finally {
    bar.stop();
    restoreTerminal();
    guard.dispose();
  }
  const elapsed = (performance.now() - t0) / 1000;
  const replay = result !== null ? formatReplayLine(result.found) : null;
  if (format === 'json') {
    print(JSON.stringify({
      target: target.from, signature, match, key, free, serialized: result === null ? null : { tries: result.tries, seconds: result.seconds, case: result.found },
      replay, reproduced: rate?.reproduced ?? 0, of: rate?.of ?? 0, exact: rate?.exact ?? false, seconds: elapsed,
    }, null, 2));
  } else {
    const lines: string[] = [];
    if (free !== null) lines.push(`hunt: free engine: ${free.key} after ${free.seconds.toFixed(1)} s (${free.runs} run(s), seed ${free.seed})`);
    else if (target.signature !== null) lines.push(`hunt: target from ${target.from}: ${key} (seed ${base.seed})`);
    if (result !== null) {
      const c = result.found;
      lines.push(`hunt: serialized engine reproduced ${key} at try ${result.tries} (${result.seconds.toFixed(1)} s): ops ${c.ops}, sched ${c.sched}${c.sched === 'pct' ? `, preemptions ${c.preemptions}` : ''}, sched seed ${c.schedSeed}`);
      lines.push(`replay: ${replay}`);
      if (rate !== null) {
        lines.push(`reproduces: ${rate.reproduced} of the first ${rate.of} schedule seeds of that shape (${rate.of > 0 ? Math.round((100 * rate.reproduced) / rate.of) : 0}%); replaying the line again ${rate.exact ? 'gave the same digest' : 'did NOT give the same run'}`);
      }
    }
    if (lines.length > 0) print(lines.join('\n'));
  }
  if (guard.which !== null) throw new InterruptedError(guard.which, `hunt: interrupted by ${guard.which} after ${elapsed.toFixed(1)} s${replay ? '' : ' without a replay line'}`);
  if (signature === null) {
    throw new NothingFoundError(`hunt: nothing failed in ${elapsed.toFixed(1)} s of free runs of ${base.scenario}${base.inject.length ? ` with ${base.inject.join(',')}` : ''}: no target to hunt (raise --seconds)`);
  }
  if (result === null) {
    throw new CheckFailedError(`hunt: ${key} was seen in the free engine (${free?.rerun ?? target.from}) but no serialized schedule reproduced it within ${tries} tries / ${seconds} s (raise --tries, --seconds or --max-ops${match === 'site' && key !== signature ? ', or --match kind' : ''})`);
  }
  if (rate !== null && !rate.exact) throw new CheckFailedError('hunt: the found replay line did not replay exactly (an emulator nondeterminism bug)');
}

function memMiBOf(text: string): number {
  const m = /^(\d+)([MG])$/i.exec(text.trim());
  if (!m) throw new UsageError(`--mem "${text}" is not a size in M or G (e.g. 64M)`);
  return Number(m[1]) * (m[2]!.toUpperCase() === 'G' ? 1024 : 1);
}
