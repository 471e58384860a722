// `npm run coverage:scenarios`: which functions of the emulated kernel and
// hardware (src/kernel, src/hw) the default soak reaches, measured with V8's
// own coverage through c8 (CPU workers included: Node writes a coverage file
// per thread), and the ones it does not, each with the reason recorded in
// tools/unreached.json. The soak runs once per design family (the default
// soak runs one --variant; each family takes paths the others never do).
//
// The functions counted are the named functions of the source
// (tools/source-functions.ts), not the list in c8's report, which leaves
// out uncalled functions nested in uncalled ranges. Not counted: V8's
// `<instance_members_initializer>`, the function it synthesises to run a
// class's field initialisers. It is not in the source, and it exists only
// for a class that declares a field with a value: nearly all of ours are
// the error classes' `override name = '...'`, so it measured whether each
// error was ever thrown, which a clean soak never does.
//
//   node dist/tools/coverage-scenarios.js [--seconds S] [--cpus N] [--min PCT] [--json FILE] [--keep DIR | --from DIR]
//
// --keep DIR keeps c8's report (DIR/coverage-final.json); --from DIR reads
// such a report instead of running the soaks, to list the functions again
// after editing tools/unreached.json without another seven-minute run.
//
// Exit 0 when the share of functions reached is at least --min (default 90),
// every unreached function has a recorded reason and every function that
// ran was matched to the source; 1 otherwise (the output says which) or
// when a soak fails; 2 on bad arguments.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SourceFunction, fileFunctions, sourceFiles } from './source-functions.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const C8 = join(ROOT, 'node_modules', '.bin', 'c8');
const CLI = join(ROOT, 'dist', 'cli.js');
const REASONS_FILE = join(ROOT, 'tools', 'unreached.json');
/** The trees whose functions are counted. */
const COUNTED_DIRS = ['src/kernel', 'src/hw'];

/** A design family: a --variant (or a design file), and the scenarios that read it when not all do. */
export interface CoverageFamily { variant: string; design?: string; scenarios?: readonly string[] }

/**
 * The design families the soak runs under (one soak each), all of them
 * designs whose default soak is clean. Not `+noflush` with an ephemeral
 * map (README, "Ephemeral maps": tlb-flush1 under asi-on+mermap+noflush
 * reports stale-at-flush within a second), and not asi-on+noflush for now:
 * under c8's slower workers fixmap-switch left stale fixmap entries in
 * nonsensitive PCIDs at the end of a 1 s run (an open finding, README).
 *
 * Two families are soaked with only the scenario that reads them, since
 * every other scenario would repeat its asi-off or asi-on+ephmap soak:
 * `freetype`, guest_memfd's unmapped freetype (issue 8: the only
 * __GFP_UNMAPPED allocations of any scenario; only guest-memfd reads the
 * strategy), and the shipped example design, examples/ephmap8-lazy.mjs,
 * with fio-randread, the scenario it is documented and tested with (the
 * user-design registry and the design kit run only with a design loaded).
 * Not no-flush: that strategy leaves stale direct-map entries by design.
 */
export const COVERAGE_FAMILIES: readonly CoverageFamily[] = [
  { variant: 'asi-off' },
  { variant: 'invlpgb' },
  { variant: 'asi-on+ephmap+exit-mm-change' },
  { variant: 'asi-on+mermap' },
  { variant: 'freetype', scenarios: ['guest-memfd'] },
  { variant: 'ephmap8-lazy', design: 'examples/ephmap8-lazy.mjs', scenarios: ['fio-randread'] },
];

/** A family as the report names it. */
function familyName(f: CoverageFamily): string {
  return `${f.design ?? f.variant}${f.scenarios !== undefined ? ` (${f.scenarios.join(', ')})` : ''}`;
}

interface Args { seconds: number; cpus: number; min: number; json: string | null; keep: string | null; from: string | null }

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { seconds: 2, cpus: 4, min: 90, json: null, keep: null, from: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const num = (lo: number, hi: number): number => {
      const n = Number(value);
      if (value === undefined || !(n >= lo && n <= hi)) usage(`${flag} ${value ?? ''} is invalid: use a number in ${lo}..${hi}`);
      i++;
      return n;
    };
    if (flag === '--seconds') a.seconds = num(0.1, 3600);
    else if (flag === '--cpus') a.cpus = Math.floor(num(1, 64));
    else if (flag === '--min') a.min = num(0, 100);
    else if (flag === '--json' || flag === '--keep' || flag === '--from') {
      if (value === undefined) usage(`${flag} needs a ${flag === '--json' ? 'file' : 'directory'}`);
      a[flag === '--json' ? 'json' : flag === '--keep' ? 'keep' : 'from'] = value!;
      i++;
    } else usage(`unknown argument "${flag}": use --seconds S, --cpus N, --min PCT, --json FILE, --keep DIR, --from DIR`);
  }
  if (a.keep !== null && a.from !== null) usage('--keep and --from do not go together: --from runs no soak');
  return a;
}

function usage(line: string): never {
  process.stderr.write(`coverage:scenarios: ${line}\n`);
  process.exit(2);
}

/** istanbul's coverage-final.json, the parts read here (lines 1-based, as in the TypeScript source). */
export type FileCoverage = {
  fnMap: Record<string, { name: string; decl: { start: { line: number } } }>;
  f: Record<string, number>;
};

export interface FunctionRow { file: string; name: string; line: number; reached: boolean; reason: string }

/** The soak's one-line refusal of a scenario under a variant (exit 2 at the set-up check). */
const REFUSED = /set-up: ([a-z0-9-]+): --variant/;

/** Every scenario name, from the CLI. */
function allScenarios(): string[] {
  const r = spawnSync(process.execPath, [CLI, 'run', '--list'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`coverage:scenarios: could not list the scenarios (exit ${r.status ?? r.signal}): ${r.stderr.trim()}\n`);
    process.exit(1);
  }
  // One scenario per line: its name, then its description.
  return r.stdout.split('\n').filter((l) => /^[a-z0-9]/.test(l)).map((l) => l.split(/\s+/)[0]!);
}

/**
 * Runs the default soak once per design family under c8. A scenario that
 * refuses a family at set-up (guest-memfd runs without ASI, for one) is
 * left out of that family's soak, said on stderr, and the soak is run
 * again without it. False when a soak fails (its stderr is passed on).
 */
function runSoaks(a: Args, dir: string): boolean {
  const every = allScenarios();
  for (const family of COVERAGE_FAMILIES) {
    const variant = family.variant;
    const scenarios = [...(family.scenarios ?? every)];
    const design = family.design !== undefined ? ['--design', join(ROOT, family.design)] : [];
    for (;;) {
      process.stderr.write(`coverage:scenarios: default soak, --variant ${variant}${family.design !== undefined ? ` --design ${family.design}` : ''}, ${a.seconds} s per scenario...\n`);
      const r = spawnSync(C8, [
        '--reports-dir', dir, '--temp-directory', join(dir, 'tmp'), '--clean=false',
        '--reporter=json', '--exclude-after-remap', '--include', 'src/kernel/**', '--include', 'src/hw/**',
        '--include', 'dist/src/kernel/**', '--include', 'dist/src/hw/**',
        process.execPath, CLI, 'soak', '--seconds', String(a.seconds), '--seeds', '1', '--cpus', String(a.cpus),
        '--variant', variant, ...design, '--scenarios', scenarios.join(','), '--no-progress',
      ], {
        cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8',
        // The unbundled CLI and worker: a bundle's coverage is under its own
        // name, which --include leaves out. The CLI's bundle runs the main
        // thread's half of every run (smpInit, the scenario's set-up: the
        // machine's boot), so with it those functions read as never run.
        env: { ...process.env, SHOOTDOWN_CLI_BUNDLE: '0', SHOOTDOWN_WORKER_BUNDLE: '0' },
      });
      const refused = r.status === 2 ? REFUSED.exec(r.stderr) : null;
      if (refused !== null && scenarios.includes(refused[1]!)) {
        process.stderr.write(`coverage:scenarios: ${refused[1]} refuses --variant ${variant}: left out of that soak\n`);
        scenarios.splice(scenarios.indexOf(refused[1]!), 1);
        continue;
      }
      if (r.status !== 0) {
        process.stderr.write(r.stderr);
        process.stderr.write(`coverage:scenarios: the soak under --variant ${variant} failed (exit ${r.status ?? r.signal}): coverage needs a clean soak\n`);
        return false;
      }
      break;
    }
  }
  return true;
}

/** The rows of one file, and the report's functions there that match none of its source functions. */
export interface FileRows { rows: FunctionRow[]; unplaced: string[] }

/**
 * Which of a file's source functions ran, from its coverage (undefined: no
 * thread loaded the file). A source function is matched to the report's
 * functions that start on its line, by name when the line has several;
 * it ran if one of them has a count. A function the report leaves out did
 * not run (V8 drops only uncalled ones). A reported function with a count
 * that matches no source function is returned as unplaced: the caller
 * says so, since it means this matching lost a function that ran.
 */
export function fileRows(file: string, fns: readonly SourceFunction[], fc: FileCoverage | undefined, reasons: Record<string, string>): FileRows {
  type Reported = { name: string; count: number; used: boolean };
  const byLine = new Map<number, Reported[]>();
  for (const [id, fn] of Object.entries(fc?.fnMap ?? {})) {
    if (fn.name === '<instance_members_initializer>' || fn.name === '(empty-report)') continue;
    const at = fn.decl.start.line;
    if (!byLine.has(at)) byLine.set(at, []);
    byLine.get(at)!.push({ name: fn.name, count: fc!.f[id] ?? 0, used: false });
  }
  const perLine = new Map<number, number>();
  for (const fn of fns) perLine.set(fn.line, (perLine.get(fn.line) ?? 0) + 1);
  const rows = fns.map((fn): FunctionRow => {
    const onLine = byLine.get(fn.line) ?? [];
    const named = onLine.filter((r) => r.name === fn.v8Name);
    const mine = named.length > 0 || perLine.get(fn.line)! > 1 ? named : onLine;
    for (const r of mine) r.used = true;
    const reached = mine.some((r) => r.count > 0);
    return { file, name: fn.name, line: fn.line, reached, reason: reached ? '' : reasons[`${file}:${fn.name}`] ?? '' };
  });
  const unplaced = [...byLine.entries()].flatMap(([line, rs]) => rs.filter((r) => !r.used && r.count > 0).map((r) => `${file}:${line} ${r.name}`));
  return { rows, unplaced };
}

/** Every counted function of the source with whether it ran and, if not, its recorded reason. */
export function functionRows(cov: Record<string, FileCoverage>, reasons: Record<string, string>): FileRows {
  const byFile = new Map(Object.entries(cov).map(([path, fc]) => [relative(ROOT, path), fc]));
  const all: FileRows = { rows: [], unplaced: [] };
  for (const dir of COUNTED_DIRS) {
    for (const path of sourceFiles(join(ROOT, dir))) {
      const file = relative(ROOT, path);
      const r = fileRows(file, fileFunctions(path), byFile.get(file), reasons);
      all.rows.push(...r.rows);
      all.unplaced.push(...r.unplaced);
    }
  }
  all.rows.sort((x, y) => x.file.localeCompare(y.file) || x.line - y.line);
  return all;
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const dir = a.from ?? a.keep ?? mkdtempSync(join(tmpdir(), 'shootdown-coverage-'));
  try {
    // Returned, not exited: the finally below removes the temporary directory.
    if (a.from === null && !runSoaks(a, dir)) {
      process.exitCode = 1;
      return;
    }
    const cov = JSON.parse(readFileSync(join(dir, 'coverage-final.json'), 'utf8')) as Record<string, FileCoverage>;
    process.exitCode = report(a, cov);
  } finally {
    if (a.from === null && a.keep === null) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The unreached functions counted by the kind their reason starts with
 * (`test-only: ...`, `option: ...`), for the summary line.
 */
export function kinds(missing: readonly FunctionRow[]): string {
  const n = new Map<string, number>();
  for (const r of missing) {
    const kind = r.reason === '' ? 'no reason' : /^([^:]+):/.exec(r.reason)?.[1] ?? 'other';
    n.set(kind, (n.get(kind) ?? 0) + 1);
  }
  const list = [...n.entries()].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  return list.length === 0 ? '' : `: ${list.map(([k, c]) => `${k} ${c}`).join(', ')}`;
}

/** Prints the measurement; the exit code. */
function report(a: Args, cov: Record<string, FileCoverage>): number {
  const reasons = JSON.parse(readFileSync(REASONS_FILE, 'utf8')) as Record<string, string>;
  const { rows, unplaced } = functionRows(cov, reasons);
  // A reason for a function that no longer exists, or that now runs, is
  // stale: say so. Except a `timing:` one for a function that ran: it
  // records a path the soak takes in some measurements and not others.
  const unreachedKeys = new Set(rows.filter((r) => !r.reached).map((r) => `${r.file}:${r.name}`));
  const ranKeys = new Set(rows.filter((r) => r.reached).map((r) => `${r.file}:${r.name}`));
  const stale = Object.keys(reasons).filter((k) => !unreachedKeys.has(k) && !(ranKeys.has(k) && reasons[k]!.startsWith('timing:')));
  const reached = rows.filter((r) => r.reached).length;
  const pct = (100 * reached) / rows.length;
  const missing = rows.filter((r) => !r.reached);
  const lines = [
    `functions of src/kernel and src/hw reached by the default soak (${COVERAGE_FAMILIES.map(familyName).join(', ')}; ${a.from !== null ? `the report in ${a.from}` : `${a.seconds} s per scenario, ${a.cpus} CPUs`}): ${reached} of ${rows.length} (${pct.toFixed(1)}%)`,
    '',
    `not reached (${missing.length}${kinds(missing)}):`,
    ...missing.map((r) => `  ${r.file}:${r.line} ${r.name}: ${r.reason || 'NO REASON RECORDED (add one to tools/unreached.json)'}`),
    ...(stale.length > 0 ? ['', `reasons recorded for functions that ran or no longer exist (remove them from tools/unreached.json):`, ...stale.map((k) => `  ${k}`)] : []),
    ...(unplaced.length > 0 ? ['', `functions that ran but match no source function (a fault of this tool's matching):`, ...unplaced.map((k) => `  ${k}`)] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (a.json !== null) writeFileSync(a.json, JSON.stringify({ reached, total: rows.length, pct, families: COVERAGE_FAMILIES.map(familyName), rows }, null, 2));
  const unexplained = missing.filter((r) => r.reason === '').length;
  const faults = [
    ...(pct < a.min ? [`${pct.toFixed(1)}% is under --min ${a.min}%`] : []),
    ...(unexplained > 0 ? [`${unexplained} unreached function(s) have no recorded reason`] : []),
    ...(unplaced.length > 0 ? [`${unplaced.length} function(s) that ran were not matched to the source`] : []),
  ];
  // A stale reason is only reported: a function at the edge of a 1 s
  // soak's reach may run in one measurement and not the next.
  if (faults.length > 0) {
    process.stderr.write(`coverage:scenarios: ${faults.join('; ')}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
