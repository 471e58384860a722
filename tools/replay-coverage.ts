// `npm run coverage:replay`: for EVERY injectable bug of `inject --list`,
// does the issue-10 chain work end to end? For each bug caught by a
// scenario: hunt it (free engine on its catalog scenario and arguments,
// then the serialized schedule search) to get an exact replay line, run
// that line again in a fresh process and check it fails with the same
// signature, shrink it, and run the smallest line once more. Bugs caught
// only by the allocator unit tests (scenario `check:...`, `stress:...`,
// `golden:...`) have no scenario run to replay: they are listed as not
// covered, with that reason, never skipped silently.
//
//   node dist/tools/replay-coverage.js [--only a,b] [--hunt-seconds S] [--shrink-seconds S]
//        [--sample N] [--max-ops N] [--jsonl FILE] [--markdown FILE] [--resume] [--help]
//
// --max-ops is hunt's (the largest op budget per CPU a tried schedule may
// have; hunt's default when not given): a bug whose free run fails only
// after tens of thousands of ops needs it raised, since hunt caps the op
// budget its free run suggests at it.
//
// Every bug's result is appended to --jsonl (default replay-coverage.jsonl)
// the moment it exists, so a run cut off by the machine's load keeps what
// it measured; --resume skips bugs already in that file. The markdown
// table (README "Replay and shrink for every injectable bug") is printed
// and written to --markdown when given. Not part of `npm test`: each bug
// costs up to a hunt budget plus a shrink budget of wall time.
//
// Exit 0 when every scenario bug in the selection replayed; 1 otherwise; 2 on bad arguments.

import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { failureSignature } from '../src/replay/run-case.js';
import { runArgsOf } from '../src/replay/replay-line.js';
import type { RunReportObject } from '../src/report/run-report.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');

export interface Args {
  only: string[] | null;
  huntSeconds: number;
  shrinkSeconds: number;
  sample: number;
  /** hunt --max-ops; null: hunt's default. */
  maxOps: number | null;
  jsonl: string;
  markdown: string | null;
  resume: boolean;
}

/** One catalog entry (`inject --list --format json`). */
export interface Bug { name: string; layer: string; scenario: string; args: string[] }

/** One bug's outcome, one JSON line of --jsonl. */
export interface BugResult {
  bug: string;
  scenario: string;
  /** Why the chain did not run or stopped, empty when it went through. */
  note: string;
  /** The hunt's free failure signature, or null. */
  signature: string | null;
  replay: string | null;
  /** The replay line, run again in a fresh process, failed with the same signature. */
  replays: boolean;
  huntSeconds: number;
  /** Schedule seeds of the found shape that reproduce, of those sampled. */
  reproduced: number;
  of: number;
  smallest: string | null;
  cpus: [number, number] | null;
  totalOps: [number, number] | null;
  reduction: number | null;
  shrinkCut: boolean;
  shrinkSeconds: number;
  /** The smallest line, run again in a fresh process, failed with the same signature. */
  smallestReplays: boolean;
  /** hunt's own check that the found line replays exactly (same digest); null or absent: no line, or not recorded (lines before it was). */
  exact?: boolean | null;
}

const HELP = `replay-coverage: hunt, replay, shrink and replay again every injectable bug of inject --list

  node dist/tools/replay-coverage.js [options]   (npm run coverage:replay -- [options])

  --only a,b           only these bugs (names from inject --list)
  --hunt-seconds S     hunt's --seconds per bug (60); the free phase may use half
  --shrink-seconds S   shrink's --seconds per bug (30)
  --sample N           hunt's --sample: schedule seeds 1..N of the found shape tried (3)
  --max-ops N          hunt's --max-ops: largest op budget per CPU of a tried schedule (hunt's default)
  --jsonl FILE         one JSON line per bug, appended as it finishes (replay-coverage.jsonl)
  --resume             keep the bugs already in --jsonl (a later line of a bug replaces an earlier one)
  --markdown FILE      also write the table there
  --help               this text

Exit 0 when every scenario bug of the selection replayed, 1 otherwise, 2 on bad arguments.
`;

function usage(msg: string): never {
  process.stderr.write(`replay-coverage: ${msg}\n`);
  process.exit(2);
}

/** The tool's flags; a bad one exits 2 with one line. */
export function parseArgs(argv: readonly string[]): Args {
  const a: Args = { only: null, huntSeconds: 60, shrinkSeconds: 30, sample: 3, maxOps: null, jsonl: 'replay-coverage.jsonl', markdown: null, resume: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const num = (lo: number, hi: number): number => {
      const n = Number(value);
      if (value === undefined || !Number.isFinite(n) || n < lo || n > hi) usage(`${flag} "${value ?? ''}" is invalid: use a number in ${lo}..${hi}`);
      i++;
      return n;
    };
    const text = (): string => {
      if (value === undefined || value.startsWith('--')) usage(`${flag} needs a value`);
      i++;
      return value;
    };
    switch (flag) {
      case '--only': a.only = text().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--hunt-seconds': a.huntSeconds = num(4, 3600); break;
      case '--shrink-seconds': a.shrinkSeconds = num(1, 3600); break;
      case '--sample': a.sample = num(0, 100); break;
      case '--max-ops': a.maxOps = num(1, 1_000_000); break;
      case '--help': case '-h': process.stdout.write(HELP); process.exit(0);
      case '--jsonl': a.jsonl = text(); break;
      case '--markdown': a.markdown = text(); break;
      case '--resume': a.resume = true; break;
      default: usage(`unknown flag "${flag}": use --only, --hunt-seconds, --shrink-seconds, --sample, --max-ops, --jsonl, --markdown, --resume, --help`);
    }
  }
  return a;
}

interface Cli { status: number; stdout: string; stderr: string; seconds: number }

function cli(args: readonly string[], timeoutSeconds: number): Cli {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutSeconds * 1000, maxBuffer: 256 * 2 ** 20, env: { ...process.env, CI: '1' } });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', seconds: (performance.now() - t0) / 1000 };
}

function jsonOf<T>(r: Cli): T | null {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    return null;
  }
}

/** A replay line run again in a fresh process: its failure signature (null: it passed or did not run). */
function replaySignature(line: string, timeoutSeconds: number): string | null {
  const r = cli([...['run', ...runArgsOf(line)], '--format', 'json', '--no-progress'], timeoutSeconds);
  const report = jsonOf<RunReportObject>(r);
  return report === null ? null : failureSignature(report);
}

/** The catalog's arguments for the bug's run, without the run length (hunt sets its own budget). */
function huntArgs(bug: Bug): string[] {
  const out: string[] = [];
  for (let i = 0; i < bug.args.length; i++) {
    if (bug.args[i] === '--seconds' || bug.args[i] === '--ops') { i++; continue; }
    out.push(bug.args[i]!);
  }
  return out;
}

/** The `shootdown hunt` arguments for a bug: its catalog scenario and arguments, the bug, and the tool's budgets. */
export function huntCommand(bug: Bug, a: Pick<Args, 'huntSeconds' | 'sample' | 'maxOps'>): string[] {
  return [
    'hunt', bug.scenario, ...huntArgs(bug), '--inject', bug.name, '--seconds', String(a.huntSeconds), '--sample', String(a.sample),
    ...(a.maxOps !== null ? ['--max-ops', String(a.maxOps)] : []), '--format', 'json', '--no-progress',
  ];
}

/** Scenario bugs run; the allocator's unit-test bugs have no scenario to replay. */
export function isScenarioBug(bug: Bug): boolean {
  return !/^(check|stress|golden):/.test(bug.scenario);
}

function covered(bug: Bug, a: Args): BugResult {
  const empty: BugResult = {
    bug: bug.name, scenario: bug.scenario, note: '', signature: null, replay: null, replays: false, huntSeconds: 0,
    reproduced: 0, of: 0, smallest: null, cpus: null, totalOps: null, reduction: null, shrinkCut: false, shrinkSeconds: 0, smallestReplays: false,
  };
  if (!isScenarioBug(bug)) return { ...empty, note: `caught by ${bug.scenario} (a unit test of the allocator), not by a scenario run: no replay line exists` };
  const hunt = cli(huntCommand(bug, a), a.huntSeconds * 3 + 120);
  const h = jsonOf<HuntJson>(hunt);
  const res: BugResult = { ...empty, huntSeconds: hunt.seconds };
  if (h === null) return { ...res, note: `hunt exited ${hunt.status} without a result: ${hunt.stderr.trim().split('\n').pop() ?? ''}` };
  Object.assign(res, { signature: h.signature, replay: h.replay, reproduced: h.reproduced, of: h.of, exact: h.replay === null ? null : h.exact });
  const huntNote = noteOfHunt(h, a.huntSeconds);
  if (h.signature === null || h.replay === null) return { ...res, note: huntNote };
  res.replays = replaySignature(h.replay, 600) === h.signature;
  if (!res.replays) return { ...res, note: joinNotes(huntNote, 'the replay line did not fail the same way in a fresh process') };
  res.note = huntNote;
  const shrink = cli(['shrink', h.replay, '--seconds', String(a.shrinkSeconds), '--seeds', '2', '--format', 'json', '--no-progress'], a.shrinkSeconds * 3 + 300);
  const s = jsonOf<{ smallest: string; cpus: [number, number]; totalOps: [number, number]; reduction: number; cut: boolean; replays: boolean }>(shrink);
  if (s === null) return { ...res, note: `shrink exited ${shrink.status} without a result: ${shrink.stderr.trim().split('\n').pop() ?? ''}` };
  Object.assign(res, { smallest: s.smallest, cpus: s.cpus, totalOps: s.totalOps, reduction: s.reduction, shrinkCut: s.cut, shrinkSeconds: shrink.seconds });
  res.smallestReplays = replaySignature(s.smallest, 600) === h.signature;
  if (!res.smallestReplays) res.note = joinNotes(res.note, 'the smallest line did not fail the same way in a fresh process');
  return res;
}

/** What `hunt --format json` prints, the fields used here. */
export interface HuntJson {
  signature: string | null;
  replay: string | null;
  reproduced: number;
  of: number;
  /** The found line run once more gave the same digest (hunt's phase three). */
  exact: boolean;
}

/**
 * Why a hunt result stops the chain or weakens it: no free failure, no
 * schedule found, or a found line that did not replay exactly (hunt ran it
 * once more and got another digest: an emulator nondeterminism, and the
 * line is then no exact replay even if it fails the same way). '' when
 * the hunt gave an exact line.
 */
export function noteOfHunt(h: HuntJson, huntSeconds: number): string {
  if (h.signature === null) return `the free engine did not fail in ${huntSeconds / 2} s`;
  if (h.replay === null) return `no serialized schedule reproduced ${h.signature} in the budget`;
  if (!h.exact) return 'hunt ran the found line once more and got another digest: not an exact replay';
  return '';
}

function joinNotes(a: string, b: string): string {
  return a === '' ? b : `${a}; ${b}`;
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The README table and its summary line. */
export function renderMarkdown(results: readonly BugResult[]): string {
  const rows = results.map((r) => {
    const ops = r.totalOps ? `${r.totalOps[0]} -> ${r.totalOps[1]}` : '-';
    const cpus = r.cpus ? `${r.cpus[0]} -> ${r.cpus[1]}` : '-';
    const red = r.reduction !== null ? `${Math.round(100 * r.reduction)}%${r.shrinkCut ? ' (budget)' : ''}` : '-';
    return `| ${r.bug} | ${r.scenario} | ${r.signature ?? '-'} | ${r.replay ? (r.replays ? 'yes' : 'NO') : '-'} | ${r.of > 0 ? `${r.reproduced} of ${r.of}` : '-'} | ${cpus} | ${ops} | ${red} | ${r.smallest ? (r.smallestReplays ? 'yes' : 'NO') : '-'} | ${r.note || ''} |`;
  });
  const scenarioBugs = results.filter((r) => !/^(check|stress|golden):/.test(r.scenario));
  const replayed = scenarioBugs.filter((r) => r.replays);
  const reductions = scenarioBugs.filter((r) => r.reduction !== null && r.smallestReplays).map((r) => r.reduction!);
  const med = median(reductions);
  return [
    '| bug | scenario | failure | replays | k of n | CPUs | total ops | shrink | smallest replays | note |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `${replayed.length} of ${scenarioBugs.length} scenario bugs replayed; ${reductions.length} shrunk to a case that replays; median reduction of total ops ${med === null ? '-' : `${Math.round(100 * med)}%`}; ${results.length - scenarioBugs.length} allocator bugs have no scenario run (unit tests only).`,
  ].join('\n');
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const list = cli(['inject', '--list', '--format', 'json'], 60);
  const catalog = jsonOf<Bug[]>(list);
  if (catalog === null) usage(`inject --list failed (${list.status}): ${list.stderr.trim()}`);
  if (a.only) for (const n of a.only) if (!catalog.some((b) => b.name === n)) usage(`--only: "${n}" is not an injectable bug (see inject --list)`);
  const bugs = catalog.filter((b) => a.only === null || a.only.includes(b.name));
  const done = new Map<string, BugResult>();
  if (a.resume && existsSync(a.jsonl)) {
    for (const line of readFileSync(a.jsonl, 'utf8').split('\n')) if (line.trim()) { const r = JSON.parse(line) as BugResult; done.set(r.bug, r); }
  } else if (existsSync(a.jsonl)) {
    usage(`--jsonl "${a.jsonl}" exists: add --resume to keep its results, or remove it`);
  }
  const results: BugResult[] = [];
  for (const bug of bugs) {
    const kept = done.get(bug.name);
    if (kept) { results.push(kept); continue; }
    const t0 = performance.now();
    const r = covered(bug, a);
    appendFileSync(a.jsonl, `${JSON.stringify(r)}\n`);
    results.push(r);
    process.stderr.write(`replay-coverage: ${bug.name}: ${r.replay ? `replays ${r.replays ? 'yes' : 'NO'}` : 'no replay line'}${r.reduction !== null ? `, shrink ${Math.round(100 * r.reduction)}%` : ''}${r.note ? ` (${r.note})` : ''} [${((performance.now() - t0) / 1000).toFixed(0)} s]\n`);
  }
  const md = renderMarkdown(results);
  process.stdout.write(`${md}\n`);
  if (a.markdown) writeFileSync(a.markdown, `${md}\n`);
  process.exit(results.filter((r) => isScenarioBug({ name: r.bug, layer: '', scenario: r.scenario, args: [] })).every((r) => r.replays) ? 0 : 1);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
