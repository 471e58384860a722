// --scenario-file on run, compare, soak and profile: one option definition
// and one pre-action hook, so a user's scenario is in the registry before
// the command validates its scenario name.

import type { Command } from 'commander';
import { ScenarioFileError, loadScenarioFile } from '../workloads/scenario-file.js';
import type { Scenario } from '../workloads/program.js';
import { UsageError } from './errors.js';

/** The commands that take a scenario and so accept --scenario-file. */
export const SCENARIO_FILE_COMMANDS: readonly string[] = ['run', 'compare', 'soak', 'profile'];

const loaded: Scenario[] = [];

/** Scenarios this process loaded from --scenario-file, in the order given. */
export function loadedScenarios(): readonly Scenario[] {
  return loaded;
}

/**
 * Adds `--scenario-file <file>` (repeatable) to the scenario commands and a
 * hook that loads the files before the command's action runs. A missing,
 * failing or wrongly shaped file is a UsageError: one line, exit 2, before
 * any CPU starts.
 */
export function addScenarioFileOption(program: Command): void {
  for (const cmd of program.commands) {
    if (!SCENARIO_FILE_COMMANDS.includes(cmd.name())) continue;
    cmd.option('--scenario-file <file>', 'load a scenario module (.mjs; see `shootdown new scenario`) and run it like a built-in (repeatable)',
      (v: string, acc: string[]) => [...acc, v], [] as string[]);
  }
  program.hook('preAction', async (_program, action) => {
    const files = (action.opts()['scenarioFile'] as string[] | undefined) ?? [];
    for (const file of files) {
      try {
        loaded.push(await loadScenarioFile(file));
      } catch (e) {
        if (e instanceof ScenarioFileError) throw new UsageError(e.message);
        throw e;
      }
    }
  });
}
