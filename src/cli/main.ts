// The `shootdown` command. Options are validated once here, at the edge;
// every user mistake becomes one line on stderr and exit code 2.

import { Command, CommanderError, Option } from 'commander';
import { jitModeFor } from '../engine/worker-jit.js';
import { runHaltPoll } from '../engine/halt-poll.js';
import { CheckFailedError, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_VIOLATION, UsageError } from './errors.js';
import { LAYOUT_FORMATS, runLayout } from './layout-command.js';
import { runInject } from './inject-command.js';
import { runProfiles } from './profiles-command.js';
import { runSelfcheck } from './selfcheck-command.js';
import { runRun } from './run-command.js';
import { COMPARE_FORMATS, DEFAULT_COMPARE_OPS, runCompare } from './compare-command.js';
import { VARIANT_GRAMMAR } from '../kernel/variant.js';
import { TOOL_VERSION } from './version.js';
import { runSoak } from './soak-command.js';
import { runReportShow } from './report-command.js';
import { runProfile } from './profile-command.js';
import { TRACE_EXPORT_FORMATS, TRACE_SHOW_FORMATS, runTraceExport, runTraceShow } from './trace-command.js';
import { TraceWriteError } from '../trace/writer.js';
import { collectOption } from './scenario-options.js';
import { FORMATS } from './format.js';
import { UnknownBugError } from '../check/bugs.js';
import { EXIT_OUTPUT } from './errors.js';
import { OutputWriteError } from './output-files.js';
import { InterruptedError } from './interrupt.js';
import { restoreTerminal } from './terminal.js';
import { commanderErrorLine, cutLongValues } from './usage-errors.js';
import { LOG_LEVELS, openLogger } from './logger.js';
import { runMerge } from './merge-command.js';
import { addScenarioFileOption } from './scenario-file-option.js';
import { addDesignOption } from './design-option.js';
import { NEW_KINDS, runNew } from './new-command.js';
import { runHunt } from './hunt-command.js';
import { runShrink } from './shrink-command.js';
import { EXIT_NOTHING_FOUND, NothingFoundError } from './errors.js';

function buildProgram(print: (text: string) => void): Command {
  const program = new Command('shootdown')
    .description('x86-64 TLB shootdown, page allocator and ASI emulator')
    .version(TOOL_VERSION)
    // Commander's own error text is multi-line and unprefixed; reportError
    // turns each CommanderError into one `shootdown:` line with the choices.
    .configureOutput({ outputError: () => {} })
    .exitOverride()
    // One logger per process, opened from the running command's --log and
    // --log-level before its action (commands without them stay silent).
    .hook('preAction', (_program, action) => { openLogger(action.opts(), action.name()); });

  program.command('run')
    .description('run a scenario on the free engine (one worker thread per simulated CPU)')
    .argument('[scenario]', 'scenario name (see --list)')
    .option('--list', 'list the scenarios')
    .option('--options', 'list the scenario\'s options (--option key=value) with default and range, for --cpus')
    .option('--cpus <n>', 'simulated CPUs (1..64)', '4')
    .option('--seconds <s>', 'stop after this long (default 5 unless --ops is given)')
    .option('--ops <n>', 'ops per CPU')
    .option('--seed <n>', 'PRNG seed', '1')
    .addOption(new Option('--variant <name>', `design to emulate, ${VARIANT_GRAMMAR}`).default('asi-off'))
    .option('--inject <bug>', 'turn on an injectable bug (repeatable; see inject --list)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--mem <size>', 'emulated memory (default: the scenario\'s own size)')
    .option('--option <key=value>', 'scenario option (repeatable, e.g. threads=8; see the README)', collectOption, [] as string[])
    .option('--watchdog-ms <ms>', 'report a CPU stuck waiting for an IPI ack this long', '5000')
    .option('--out <file>', 'also write the RunReport as a binary protobuf file')
    .option('--html <file>', 'also write a self-contained HTML page: counters, exits by reason, the per-CPU timeline (around the violation, if any)')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--log <file>', 'structured log as JSON lines (pino) in this file')
    .addOption(new Option('--log-level <level>', 'log level (default info with --log; alone: log to stderr)').choices([...LOG_LEVELS]))
    .addOption(new Option('--engine <engine>', 'free (every CPU at once) or serialized (one at a time, seeded schedule, exact replay; needs --ops)').default('free'))
    .option('--sched-seed <n>', 'serialized engine: seed of the schedule', '1')
    .addOption(new Option('--sched <policy>', 'serialized engine: random or pct (priorities with --preemptions change points)').default('random'))
    .option('--preemptions <k>', 'serialized engine, pct: priority change points (0..16)', '2')
    .option('--profile <name>', 'CPU profile for simulated time (see profiles --list)', 'spr')
    .option('--check-determinism', 'serialized engine: run twice and compare the digests (exit 1 if they differ)')
    .option('--trace <file>', 'write the run\'s trace events to this file (read it with trace show / trace export)')
    .option('--trace-mode <mode>', 'trace: ring (the last ring of events per CPU, at the end) or full (every event, drained while the run goes on)', 'ring')
    .addOption(new Option('--test-never-ack <cpu>', 'engine self-test: this CPU never acknowledges an IPI').hideHelp())
    .addOption(new Option('--test-crash <cpu:op:how>', 'fault-survival test: this CPU throws (throw) or its worker exits (exit) at this op').hideHelp())
    .addOption(new Option('--format <format>', `output format: ${FORMATS.join('|')}`).default('table'))
    .action((scenario: string | undefined, opts) => runRun(scenario, opts, print));

  program.command('compare')
    .description('run several variants of a scenario over several seeds and compare them per metric (the first variant is the base)')
    .argument('[scenario]', 'scenario to run')
    .option('--variant <list>', 'comma-separated variants, the base first (e.g. asi-off,asi-on,asi-on+ephmap)')
    .option('--samples <n>', 'seeds per variant', '5')
    .option('--profile <name>', 'CPU profile for simulated time (see profiles --list)', 'spr')
    .option('--metric <list>', 'comma-separated metrics (default: all of the scenario\'s)')
    .option('--cpus <n>', 'simulated CPUs (1..64)', '4')
    .option('--ops <n>', `ops per CPU of each run (default ${DEFAULT_COMPARE_OPS} unless --seconds is given)`)
    .option('--seconds <s>', 'seconds per run instead of an op budget (simulated figures then follow host speed)')
    .option('--mem <size>', 'emulated memory (default: the scenario\'s own size)')
    .option('--option <key=value>', 'scenario option (repeatable)', collectOption, [] as string[])
    .option('--watchdog-ms <ms>', 'IPI ack watchdog bound', '5000')
    .addOption(new Option('--format <fmt>', 'output format').choices([...COMPARE_FORMATS]).default('table'))
    .option('--out <file>', 'also write the CompareReport as a file (framed protobuf) that merge reads')
    .option('--html <file>', 'also write a self-contained HTML page: tables, bar charts with min/max, exits by reason, per-CPU timelines')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--log <file>', 'structured log as JSON lines (pino) in this file')
    .addOption(new Option('--log-level <level>', 'log level (default info with --log; alone: log to stderr)').choices([...LOG_LEVELS]))
    .action((scenario: string | undefined, opts) => runCompare(scenario, opts, print));

  program.command('merge')
    .description('pool comparisons (compare --out files, e.g. from several machines) into one: samples pooled per variant, statistics recomputed; or merge soak shard directories (soak --shard i/n --out DIR) into one summary')
    .argument('<file...>', 'files written by compare --out, or directories written by soak --out')
    .addOption(new Option('--format <fmt>', 'output format').choices([...COMPARE_FORMATS]).default('table'))
    .option('--out <file>', 'also write the merged CompareReport (framed protobuf)')
    .option('--html <file>', 'also write the merged comparison as a self-contained HTML page')
    .option('--log <file>', 'structured log as JSON lines (pino) in this file')
    .addOption(new Option('--log-level <level>', 'log level (default info with --log; alone: log to stderr)').choices([...LOG_LEVELS]))
    .action((files: string[], opts) => runMerge(files, opts, print));

  program.command('soak')
    .description('run scenarios over many seeds; with --inject, check every run catches the bug')
    .option('--scenarios <list>', 'comma-separated scenarios (default: all)')
    .option('--seeds <n>', 'seeds per scenario', '3')
    .option('--seed-start <n>', 'first seed', '1')
    .option('--seconds <s>', 'seconds per run', '10')
    .option('--cpus <n>', 'simulated CPUs (1..64)', '4')
    .option('--mem <size>', 'emulated memory (default: each scenario\'s own size)')
    .option('--option <key=value>', 'scenario option (repeatable)', collectOption, [] as string[])
    .addOption(new Option('--variant <name>', `design to emulate, ${VARIANT_GRAMMAR}`).default('asi-off'))
    .option('--inject <bug>', 'detection sweep: every run must catch this bug (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--shard <i/n>', 'run only shard i of n (1-based, deterministic)', '1/1')
    .option('--out <dir>', 'write each RunReport (<scenario>-seed<N>.pb) and the shard\'s summary JSON here')
    .option('--resume', 'with --out: keep the runs a previous soak finished there, run the rest')
    .option('--force', 'with --out: discard this soak\'s previous results there and start over')
    .option('--trace <mode>', 'with --out: also write each run\'s trace (<scenario>-seed<N>.trc), ring or full mode')
    .option('--watchdog-ms <ms>', 'IPI ack watchdog bound', '5000')
    .option('--minutes <m>', 'total time budget: runs go on, seed after seed over the scenarios, until it is spent (--seeds is then unused)')
    .option('--keep-going', 'go on past failed runs (each is recorded); by default the soak stops at the first')
    .addOption(new Option('--test-crash <seed:cpu:op:how>', 'fault-survival test: crash a CPU of the runs with this seed').hideHelp())
    .option('--no-progress', 'no progress bar on stderr')
    .option('--log <file>', 'structured log as JSON lines (pino) in this file')
    .addOption(new Option('--log-level <level>', 'log level (default info with --log; alone: log to stderr)').choices([...LOG_LEVELS]))
    .addOption(new Option('--format <format>', `output format: ${FORMATS.join('|')}`).default('table'))
    .action((opts) => runSoak(opts, print));

  const report = program.command('report').description('read the files shootdown writes');
  report.command('show')
    .description('print RunReport files (.pb) and soak summaries (.json); refuses empty, torn or foreign files')
    .argument('<file...>', 'files written by run --out or soak --out')
    .addOption(new Option('--format <format>', `output format: ${FORMATS.join('|')}`).default('table'))
    .action((files: string[], opts) => runReportShow(files, opts, print));

  program.command('layout')
    .description('print the shared-memory regions, their sizes and the metadata cost per frame')
    .option('--mem <size>', 'emulated memory (e.g. 256M, 16G)', '256M')
    .option('--cpus <n>', 'simulated CPUs (1..64)', '4')
    .addOption(new Option('--format <format>', `output format: ${LAYOUT_FORMATS.join('|')}`).default('table'))
    .action((opts) => print(runLayout(opts)));

  program.command('selfcheck')
    .description('boot a machine on one CPU and exercise page tables, TLB flushes and the page allocator')
    .option('--mem <size>', 'emulated memory (1G or more also checks a 1 GiB page)', '1G')
    .option('--ops <n>', 'random allocator operations', '20000')
    .option('--seed <n>', 'PRNG seed', '1')
    .addOption(new Option('--format <format>', `output format: ${FORMATS.join('|')}`).default('table'))
    .action((opts) => runSelfcheck(opts, print));

  program.command('profiles')
    .description('list the CPU profiles (cycles per counted event) that turn counts into simulated time')
    .option('--list', 'list the profiles and their costs')
    .addOption(new Option('--format <format>', `output format: ${FORMATS.join('|')}`).default('table'))
    .action((opts) => print(runProfiles(opts)));

  program.command('inject')
    .description('list the injectable bugs and how each is caught')
    .option('--list', 'list the bugs')
    .option('--all', 'include catalogued bugs that no scenario catches yet')
    .addOption(new Option('--format <format>', `output format: ${FORMATS.join('|')}`).default('table'))
    .action((opts) => print(runInject(opts)));

  program.command('profile')
    .description('run a scenario with V8\'s CPU profiler in every CPU worker; print the top self-time functions')
    .argument('[scenario]', 'scenario name (see run --list)')
    .option('--cpus <n>', 'simulated CPUs (1..64)', '4')
    .option('--seconds <s>', 'stop after this long (default 5 unless --ops is given)')
    .option('--ops <n>', 'ops per CPU')
    .option('--seed <n>', 'PRNG seed', '1')
    .addOption(new Option('--variant <name>', `design to emulate, ${VARIANT_GRAMMAR}`).default('asi-off'))
    .option('--inject <bug>', 'turn on an injectable bug (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--mem <size>', 'emulated memory (default: the scenario\'s own size)')
    .option('--option <key=value>', 'scenario option (repeatable)', collectOption, [] as string[])
    .option('--watchdog-ms <ms>', 'IPI ack watchdog bound', '5000')
    .option('--out <dir>', 'where the cpu-NN.cpuprofile files (or the clinic output) go', 'shootdown-profile')
    .option('--top <n>', 'functions to print', '20')
    .option('--clinic', 'run one CPU inline in the main thread under clinic flame instead (flame graph HTML in --out)')
    .addOption(new Option('--inline', 'run one CPU inline, unprofiled (what --clinic runs)').hideHelp())
    .action((scenario: string | undefined, opts) => runProfile(scenario, opts, print));

  // trace files (issue 10)
  const trace = program.command('trace').description('read the trace files run --trace writes');
  trace.command('show')
    .description('print a trace file as one merged timeline (refuses empty, torn or foreign files)')
    .argument('<file>', 'file written by run --trace')
    .option('--cpu <n>', 'only this CPU\'s events')
    .option('--around <where>', 'only the window around an op number, seq:N or violation')
    .option('--context <n>', 'with --around: events either side', '20')
    .option('--kind <list>', 'only these event kinds, comma-separated (e.g. ipi-send,ipi-ack)')
    .addOption(new Option('--format <format>', `output format: ${TRACE_SHOW_FORMATS.join('|')}`).default('text'))
    .action((file: string, opts) => runTraceShow(file, opts, print));
  trace.command('export')
    .description('convert a trace file for other tools (chrome: Trace Event Format JSON for Perfetto / chrome://tracing)')
    .argument('<file>', 'file written by run --trace')
    .addOption(new Option('--format <format>', `output format: ${TRACE_EXPORT_FORMATS.join('|')}`).default('chrome'))
    .option('--out <file>', 'write here instead of stdout')
    .action((file: string, opts) => runTraceExport(file, opts, print));

  // --- hunt / shrink (issue 10) ---
  program.command('hunt')
    .description('run the free engine until a run fails, then search serialized schedules for one that fails the same way; print its exact replay line and how often it reproduces')
    .argument('[target]', 'scenario name, or a report file (run --out) whose failure to hunt')
    .option('--cpus <n>', 'simulated CPUs (1..64)', '4')
    .option('--seed <n>', 'first PRNG seed of the free runs', '1')
    .option('--mem <size>', 'emulated memory (default: the scenario\'s own size)')
    .addOption(new Option('--variant <name>', `design to emulate, ${VARIANT_GRAMMAR}`).default('asi-off'))
    .option('--inject <bug>', 'turn on an injectable bug (repeatable; see inject --list)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--option <key=value>', 'scenario option (repeatable)', collectOption, [] as string[])
    .option('--watchdog-ms <ms>', 'IPI ack watchdog bound', '5000')
    .option('--profile <name>', 'CPU profile for simulated time', 'spr')
    .option('--seconds <s>', 'time budget of the whole hunt (the free phase takes at most half)', '120')
    .option('--tries <n>', 'most serialized schedules to try', '200')
    .option('--sample <n>', 'schedule seeds 1..n of the found shape run to measure how often it reproduces', '10')
    .option('--max-ops <n>', 'largest op budget per CPU a tried schedule may have', '10000')
    .option('--match <how>', 'what "the same failure" means: site (kind, and the record\'s address class, slot role, walker or lock classes) or kind', 'site')
    .option('--no-progress', 'no status line on stderr')
    .addOption(new Option('--format <format>', `output format: ${FORMATS.join('|')}`).default('table'))
    .action((target: string | undefined, opts) => runHunt(target, opts, print));

  program.command('shrink')
    .description('reduce a failing serialized case (CPUs, ops per CPU, preemptions, options) while it fails the same way; print the smallest replay line')
    .argument('[replay-line]', 'a serialized replay line, in quotes ("shootdown run ... --engine serialized ...")')
    .option('--from <report>', 'take the replay line from a serialized run\'s report file (run --out)')
    .option('--seconds <s>', 'time budget (the smallest case so far is printed when it runs out)', '120')
    .option('--seeds <n>', 'other schedule seeds tried for each smaller candidate', '3')
    .option('--match <how>', 'what "fails the same way" means: site (kind and site, as hunt) or kind', 'site')
    .option('--no-progress', 'no status line on stderr')
    .addOption(new Option('--format <format>', `output format: ${FORMATS.join('|')}`).default('table'))
    .action((line: string | undefined, opts) => runShrink(line, opts, print));

  program.command('new')
    .description('write a commented, working template to change: new scenario NAME, new design NAME')
    .argument('<kind>', `what to write: ${NEW_KINDS.join(', ')}`)
    .argument('<name>', 'its name (lower-case letters, digits, dashes); the file is <dir>/<name>.mjs')
    .option('--dir <dir>', 'where to write it', '.')
    .option('--force', 'overwrite an existing file')
    .action((kind: string, name: string, opts) => runNew(kind, name, opts, print));

  addScenarioFileOption(program);
  addDesignOption(program);
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting (tests call this). */
export async function main(argv: readonly string[], print = (t: string) => process.stdout.write(`${t}\n`)): Promise<number> {
  const program = buildProgram(print);
  try {
    checkEngineEnv();
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    return reportError(e, program, argv);
  } finally {
    restoreTerminal();
  }
}

/** A bad SHOOTDOWN_WORKER_JIT or SHOOTDOWN_HALT_POLL is bad input (one line, exit 2), found before any run. */
function checkEngineEnv(): void {
  try {
    jitModeFor(1);
    runHaltPoll('free', 1);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function say(line: string): void {
  process.stderr.write(`shootdown: ${cutLongValues(line)}\n`);
}

function reportError(e: unknown, program: Command, argv: readonly string[]): number {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) return 0; // --help, --version
    // No command given: commander printed the help; no command is bad input, nothing more to say.
    if (e.code === 'commander.help') return EXIT_BAD_INPUT;
    say(commanderErrorLine(e, program, argv));
    return EXIT_BAD_INPUT;
  }
  if (e instanceof UsageError || e instanceof UnknownBugError) {
    say(e.message);
    return EXIT_BAD_INPUT;
  }
  if (e instanceof NothingFoundError) {
    say(e.message);
    return EXIT_NOTHING_FOUND;
  }
  if (e instanceof CheckFailedError) {
    say(e.message);
    return EXIT_VIOLATION;
  }
  if (e instanceof TraceWriteError) {
    say(e.message);
    return EXIT_OUTPUT;
  }
  if (e instanceof OutputWriteError) {
    say(`${e.message} (the results were printed on stdout)`);
    return EXIT_OUTPUT;
  }
  if (e instanceof InterruptedError) {
    say(e.message);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`shootdown: internal error: ${err.message}\n`);
  if (process.env['SHOOTDOWN_DEBUG']) process.stderr.write(`${err.stack}\n`);
  return EXIT_INTERNAL;
}
