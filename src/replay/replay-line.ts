// A replay line: the one `shootdown run ...` command that reproduces a
// serialized run exactly (scenario, machine, seed, variant, bugs, scenario
// options, op budget, schedule seed, policy and preemption bound). `hunt`
// prints one, `shrink` reads one and prints a smaller one, and a serialized
// run's violation record carries one. This file only turns a ReplayCase
// into text and back; running it is run-once.ts's job.
//
// Every field is written out, defaults included: a line that leaves a
// default implicit stops replaying the day the default changes.

/** A serialized run, everything that decides what it does. */
export interface ReplayCase {
  readonly scenario: string;
  readonly cpus: number;
  readonly seed: number;
  /** Emulated memory in MiB. */
  readonly memMiB: number;
  /** Ops per CPU (a serialized run ends by its op budget). */
  readonly ops: number;
  readonly variant: string;
  readonly inject: readonly string[];
  /** Scenario options, in command-line order. */
  readonly options: Readonly<Record<string, number | string | boolean>>;
  readonly watchdogMs: number;
  readonly profile: string;
  readonly schedSeed: number;
  readonly sched: 'random' | 'pct';
  readonly preemptions: number;
}

/** A replay line that is not one: the message names the bad token and what was expected. */
export class ReplayLineError extends Error {
  override name = 'ReplayLineError';
}

/** The `shootdown run` command line of a case (flags in a fixed order, so two equal cases print the same line). */
export function formatReplayLine(c: ReplayCase): string {
  const parts = [
    'shootdown run', c.scenario, `--cpus ${c.cpus}`, `--seed ${c.seed}`, `--mem ${c.memMiB}M`, `--ops ${c.ops}`,
    `--variant ${c.variant}`, `--watchdog-ms ${c.watchdogMs}`, `--profile ${c.profile}`,
  ];
  for (const b of c.inject) parts.push(`--inject ${b}`);
  for (const [k, v] of Object.entries(c.options)) parts.push(`--option ${quoteIfNeeded(`${k}=${String(v)}`)}`);
  parts.push('--engine serialized', `--sched-seed ${c.schedSeed}`, `--sched ${c.sched}`, `--preemptions ${c.preemptions}`);
  return parts.join(' ');
}

/** s as one shell word: bare when it is safe, else single-quoted. */
export function quoteIfNeeded(s: string): string {
  return /^[A-Za-z0-9_=.,:+\-/]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Shell-like split: whitespace separates, single and double quotes group. */
export function splitCommandLine(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== null) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      has = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (quote !== null) throw new ReplayLineError(`replay line has an unclosed ${quote} quote`);
  if (has) out.push(cur);
  return out;
}

const VALUE_FLAGS = [
  '--cpus', '--seed', '--mem', '--ops', '--variant', '--watchdog-ms', '--profile', '--inject', '--option',
  '--engine', '--sched-seed', '--sched', '--preemptions', '--seconds',
] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

/**
 * The run arguments of a replay line: the tokens after `run`, with any
 * program prefix (`shootdown`, `npx shootdown`, `node dist/cli.js`)
 * dropped. Throws ReplayLineError when there is no `run` subcommand.
 */
export function runArgsOf(line: string): string[] {
  const tokens = splitCommandLine(line.trim());
  const at = tokens.indexOf('run');
  if (at < 0) throw new ReplayLineError(`"${line.slice(0, 60)}" is not a replay line: expected "shootdown run <scenario> ... --engine serialized ..."`);
  return tokens.slice(at + 1);
}

/**
 * Parses a replay line into its case. Values are checked for shape only
 * (whole numbers, a known policy); the scenario, variant, bugs and options
 * are judged by `run` itself when the case runs. Flags that do not change
 * what a serialized run does (--format, --no-progress, --out,
 * --check-determinism) are accepted and dropped.
 */
export function parseReplayLine(line: string): ReplayCase {
  const args = runArgsOf(line);
  const values = new Map<ValueFlag, string[]>();
  let scenario: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--no-progress' || a === '--check-determinism') continue;
    if (a === '--format' || a === '--out') { i++; continue; }
    const eq = a.indexOf('=');
    const flag = (a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a) as ValueFlag;
    if ((flag as string) === '--design') {
      throw new ReplayLineError('replay line has --design: shrink and hunt run built-in variants only; run the line itself with `shootdown run`');
    }
    if ((VALUE_FLAGS as readonly string[]).includes(flag)) {
      const v = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new ReplayLineError(`replay line: ${flag} has no value`);
      values.set(flag, [...(values.get(flag) ?? []), v]);
    } else if (a.startsWith('-')) {
      throw new ReplayLineError(`replay line: "${a}" is not a flag a serialized replay takes (${VALUE_FLAGS.filter((f) => f !== '--seconds').join(', ')})`);
    } else if (scenario === null) {
      scenario = a;
    } else {
      throw new ReplayLineError(`replay line: unexpected "${a}" after the scenario ${scenario}`);
    }
  }
  if (scenario === null) throw new ReplayLineError('replay line names no scenario');
  const one = (f: ValueFlag): string | undefined => values.get(f)?.at(-1);
  const int = (f: ValueFlag, dflt: number | null): number => {
    const t = one(f);
    if (t === undefined) {
      if (dflt === null) throw new ReplayLineError(`replay line has no ${f}: an exact replay needs it`);
      return dflt;
    }
    if (!/^\d+$/.test(t)) throw new ReplayLineError(`replay line: ${f} "${t}" is not a whole number`);
    return Number(t);
  };
  const engine = one('--engine') ?? 'free';
  if (engine !== 'serialized') {
    throw new ReplayLineError(`replay line runs the ${engine} engine: only a serialized run (--engine serialized) replays exactly; hunt turns a free-engine failure into one`);
  }
  if (values.has('--seconds')) throw new ReplayLineError('replay line has --seconds: a serialized run ends by its op budget (--ops), never by wall time');
  const sched = one('--sched') ?? 'random';
  if (sched !== 'random' && sched !== 'pct') throw new ReplayLineError(`replay line: --sched "${sched}" is not one of: random, pct`);
  const mem = one('--mem');
  let memMiB = 0;
  if (mem !== undefined) {
    const m = /^(\d+)([MG])$/i.exec(mem);
    if (!m) throw new ReplayLineError(`replay line: --mem "${mem}" is not a size in M or G (e.g. 64M)`);
    memMiB = Number(m[1]) * (m[2]!.toUpperCase() === 'G' ? 1024 : 1);
  }
  const options: Record<string, number | string | boolean> = {};
  for (const pair of values.get('--option') ?? []) {
    const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(pair);
    if (!m) throw new ReplayLineError(`replay line: --option "${pair}" is not key=value`);
    const text = m[2]!;
    options[m[1]!] = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text === 'true' ? true : text === 'false' ? false : text;
  }
  return {
    scenario,
    cpus: int('--cpus', 4),
    seed: int('--seed', 1),
    memMiB,
    ops: int('--ops', null),
    variant: one('--variant') ?? 'asi-off',
    inject: values.get('--inject') ?? [],
    options,
    watchdogMs: int('--watchdog-ms', 5000),
    profile: one('--profile') ?? 'spr',
    schedSeed: int('--sched-seed', 1),
    sched,
    preemptions: int('--preemptions', 2),
  };
}
