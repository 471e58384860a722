// `shootdown profile <scenario> [run options]`: the same run as `run`, with
// V8's CPU profiler in every CPU worker. Writes one cpu-NN.cpuprofile per
// simulated CPU (Chrome DevTools > Performance > Load profile, or
// speedscope) and prints the functions with the most self time, merged
// across CPUs. `--clinic` instead runs the scenario with one CPU inline in
// the main thread under `clinic flame` (which sees only the main thread)
// and leaves its flame graph HTML in the output directory.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setInjected } from '../check/bugs.js';
import { runInline } from '../engine/inline.js';
import { PACKAGE_ROOT } from '../paths.js';
import { formatTopSelfTimes, formatWaiting, waitingTimes, readCpuProfile, topSelfTimes } from '../profile/cpuprofile.js';
import { SCENARIOS, UnknownScenarioError, findScenario } from '../workloads/index.js';
import { ScenarioOptionError } from '../workloads/mm/options.js';
import { CheckFailedError, UsageError } from './errors.js';
import { assertHostCanHold, shapeFromOptions } from './machine-options.js';
import { parseChoice, parseIntInRange } from './parse.js';
import { parseSeconds, parseVariantOption } from './run-command.js';
import { runOnce } from './run-once.js';
import { defaultMemFor, parseScenarioOptions } from './scenario-options.js';

export interface ProfileOptions {
  cpus: string;
  seconds?: string;
  ops?: string;
  seed: string;
  variant: string;
  inject: string[];
  mem?: string;
  option: string[];
  watchdogMs: string;
  out: string;
  top: string;
  clinic?: boolean;
  /** Hidden: the process clinic runs (one CPU inline, no profiler of ours). */
  inline?: boolean;
}

const PROFILE_FILE = /^cpu-\d+\.cpuprofile$/;

function checkScenario(name: string | undefined): string {
  if (!name) throw new UsageError(`profile: name a scenario (${SCENARIOS.map((s) => s.name).join(', ')})`);
  try {
    findScenario(name);
  } catch (e) {
    if (e instanceof UnknownScenarioError) throw new UsageError(e.message);
    throw e;
  }
  return name;
}

export async function runProfile(scenarioArg: string | undefined, o: ProfileOptions, print: (t: string) => void): Promise<void> {
  const scenario = checkScenario(scenarioArg);
  const variant = parseVariantOption(o.variant);
  const seed = parseIntInRange('--seed', o.seed, 0, 2 ** 32 - 1);
  const watchdogMs = parseIntInRange('--watchdog-ms', o.watchdogMs, 10, 3_600_000);
  const top = parseIntInRange('--top', o.top, 1, 1000);
  const ops = o.ops !== undefined ? parseIntInRange('--ops', o.ops, 1, Number.MAX_SAFE_INTEGER) : undefined;
  const seconds = o.seconds !== undefined ? parseSeconds(o.seconds) : ops === undefined ? 5 : undefined;
  setInjected(o.inject);
  const options = { ...parseScenarioOptions(o.option), variant };
  if (o.inline) {
    runInlineForClinic(scenario, o, seed, options, seconds, ops, print);
    return;
  }
  const dir = resolve(o.out);
  mkdirSync(dir, { recursive: true });
  if (o.clinic) {
    runClinic(scenario, o, dir, print);
    return;
  }
  const shape = shapeFromOptions({ mem: o.mem ?? defaultMemFor(scenario, shapeFromOptions({ cpus: o.cpus }).cpus), cpus: o.cpus });
  assertHostCanHold(shape);
  // A directory reused from a run with more CPUs must not leave extra files behind.
  for (const f of readdirSync(dir)) if (PROFILE_FILE.test(f)) rmSync(join(dir, f));
  const { report, failures } = await runOnce({
    scenario, shape, seed, variant, inject: o.inject, watchdogMs, options: parseScenarioOptions(o.option),
    ...(seconds !== undefined ? { seconds } : {}), ...(ops !== undefined ? { ops } : {}),
    profileDir: dir,
  });
  const files = readdirSync(dir).filter((f) => PROFILE_FILE.test(f)).sort();
  const profiles = files.map((f) => readCpuProfile(join(dir, f)));
  print(`${scenario}: ${shape.cpus} CPUs, ${Math.round(report['opsPerSec'] as number).toLocaleString('en-US')} loops/s over ${((report['durationMs'] as number) / 1000).toFixed(2)} s (profiled; the profiler slows every CPU)`);
  print(`wrote ${files.length} CPU profiles to ${dir}: ${files.join(', ')}`);
  // The profiler samples wall time: a CPU asleep shows as self time of the
  // function it sleeps in. Those are summed on a line of their own, so the
  // list is what the CPUs ran.
  print(`top ${top} functions by self time, merged over the ${files.length} CPUs (idle and waiting left out; shares of all sampled time):`);
  print(formatTopSelfTimes(topSelfTimes(profiles, top, false, true)));
  print(formatWaiting(waitingTimes(profiles)));
  if (files.length !== shape.cpus) throw new CheckFailedError(`profile: ${files.length} profiles written for ${shape.cpus} CPUs`);
  if (failures.length > 0) throw new CheckFailedError(`profile ${scenario}: ${failures.join('; ')}`);
}

/** The process clinic flame watches: one CPU inline on the main thread. */
function runInlineForClinic(
  scenario: string, o: ProfileOptions, seed: number, options: Record<string, string | number | boolean>,
  seconds: number | undefined, ops: number | undefined, print: (t: string) => void,
): void {
  if (o.cpus !== '1') throw new UsageError(`--inline runs one CPU: --cpus ${o.cpus} is invalid, use 1`);
  let r;
  try {
    r = runInline({ scenario, seed, inject: o.inject, options, ...(seconds !== undefined ? { seconds } : {}), ...(ops !== undefined ? { ops } : {}) });
  } catch (e) {
    if (e instanceof ScenarioOptionError) throw new UsageError(`--option: ${e.message}`);
    throw e;
  }
  print(`${scenario} inline on one CPU: ${r.ops} ops in ${(r.runMs / 1000).toFixed(2)} s, ${r.violations} violations${r.halted ? ' (halted by a violation it could not run past)' : ''}`);
}

/** Runs `clinic flame` on this command with --inline; the HTML lands in dir. */
function runClinic(scenario: string, o: ProfileOptions, dir: string, print: (t: string) => void): void {
  const clinic = join(fileURLToPath(PACKAGE_ROOT), 'node_modules', '.bin', 'clinic');
  if (!existsSync(clinic)) throw new UsageError('--clinic needs clinic (a devDependency of shootdown): run npm install in the shootdown checkout');
  const cli = join(fileURLToPath(PACKAGE_ROOT), 'dist', 'cli.js');
  const args = ['profile', scenario, '--inline', '--cpus', '1', '--seed', o.seed, '--variant', o.variant];
  if (o.seconds !== undefined) args.push('--seconds', o.seconds);
  if (o.ops !== undefined) args.push('--ops', o.ops);
  for (const b of o.inject) args.push('--inject', b);
  for (const kv of o.option) args.push('--option', kv);
  const before = new Set(readdirSync(dir));
  // NO_INSIGHT: clinic otherwise asks on the terminal whether to send
  // anonymous statistics, and waits for an answer forever when unattended.
  const r = spawnSync(clinic, ['flame', '--open=false', '--dest', dir, '--', process.execPath, cli, ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NO_INSIGHT: '1' },
  });
  if (r.status !== 0) throw new CheckFailedError(`clinic flame exited with ${r.status ?? r.signal}`);
  const html = readdirSync(dir).filter((f) => f.endsWith('.html') && !before.has(f));
  if (html.length === 0) throw new CheckFailedError(`clinic flame wrote no HTML to ${dir}`);
  print(`flame graph: ${html.map((f) => join(dir, f)).join(', ')}`);
}
