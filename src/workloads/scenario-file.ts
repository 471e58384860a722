// --scenario-file: a user's scenario module, loaded into the registry so
// every command that takes a scenario name (run, soak, compare) runs it like
// a built-in. The main thread loads it before any CPU starts (bad files are
// refused there, with one line); every CPU worker loads the same file again
// (src/engine/cpu-worker.ts) so its registry has it too.

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScenarioShapeError, registerScenario } from './index.js';
import type { Scenario } from './program.js';

const loadedUrls: string[] = [];

/** file: URLs of the scenario files this thread loaded (the engine passes them to every CPU worker). */
export function loadedScenarioFiles(): readonly string[] {
  return loadedUrls;
}

/** A scenario file that cannot be used: missing, failing to load, or of the wrong shape. */
export class ScenarioFileError extends Error {
  override name = 'ScenarioFileError';
}

/** Absolute file URL of a scenario file path, checked to exist (ScenarioFileError otherwise). */
export function scenarioFileUrl(path: string): string {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ScenarioFileError(`--scenario-file ${path}: no such file`);
  if (!statSync(abs).isFile()) throw new ScenarioFileError(`--scenario-file ${path}: not a file`);
  if (!/\.(mjs|js)$/.test(abs)) throw new ScenarioFileError(`--scenario-file ${path}: use an ES module ending in .mjs or .js (compile TypeScript first)`);
  return pathToFileURL(abs).href;
}

/**
 * Imports a scenario module and registers its scenario (the default export,
 * or an export named `scenario`). Returns the scenario.
 *
 * Errors: ScenarioFileError with one line: the file is missing, throws
 * while loading (a syntax error included: the message's first line), or
 * exports something without the Scenario shape (the field that is wrong).
 */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  const url = path.startsWith('file:') ? path : scenarioFileUrl(path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new ScenarioFileError(`--scenario-file ${path} failed to load: ${msg.split('\n')[0]}`);
  }
  const s = mod['default'] ?? mod['scenario'];
  if (s === undefined) throw new ScenarioFileError(`--scenario-file ${path} exports no scenario: export default a Scenario (see \`shootdown new scenario NAME\`)`);
  try {
    registerScenario(s as Scenario, `--scenario-file ${path}`);
  } catch (e) {
    if (e instanceof ScenarioShapeError) throw new ScenarioFileError(e.message);
    throw e;
  }
  if (!loadedUrls.includes(url)) loadedUrls.push(url);
  return s as Scenario;
}
