// `shootdown new scenario NAME`: writes a commented, working scenario module
// that `run --scenario-file` runs as it is, for an author to change.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { checkOutputFile, writeOutputFile } from './output-files.js';
import { SCENARIOS } from '../workloads/index.js';
import { PACKAGE_ROOT } from '../paths.js';

export const NEW_KINDS = ['scenario'] as const;

export interface NewOptions {
  dir: string;
  force?: boolean;
}

/** The library entry this build serves (dist/src/api.js), as a file URL. */
const API_URL = new URL('../api.js', import.meta.url).href;

/**
 * How a module in `dir` imports the library: 'shootdown' when that name
 * resolves from there (the package is installed, or dir is inside this
 * package), else this build's absolute file URL.
 */
export function librarySpecifier(dir: string): string {
  try {
    createRequire(join(resolve(dir), 'x.js')).resolve('shootdown');
    return 'shootdown';
  } catch {
    return API_URL;
  }
}

/**
 * The example this package ships (examples/map-unmap.mjs) is the template:
 * `new scenario NAME` writes it with NAME for map-unmap and `lib` for the
 * 'shootdown' import, so the example the tests run and the template a user
 * gets are one text.
 */
const TEMPLATE_SOURCE = new URL('examples/map-unmap.mjs', PACKAGE_ROOT);
const TEMPLATE_NAME = 'map-unmap';

/** The text of `new scenario NAME` importing the library as `lib`. */
export function scenarioTemplate(name: string, lib: string): string {
  return readFileSync(TEMPLATE_SOURCE, 'utf8')
    .replaceAll(TEMPLATE_NAME, name)
    .replace("from 'shootdown';", `from '${lib}';`);
}

/** `shootdown new <kind> <name>`: writes <dir>/<name>.mjs; prints where and how to run it. */
export async function runNew(kind: string, name: string, o: NewOptions, print: (t: string) => void): Promise<void> {
  if (!(NEW_KINDS as readonly string[]).includes(kind)) throw new UsageError(`new: unknown kind "${kind}": use ${NEW_KINDS.join(', ')}`);
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(name)) {
    throw new UsageError(`new scenario: name "${name}" is invalid: use 1-40 lower-case letters, digits and dashes, starting with a letter`);
  }
  if (SCENARIOS.some((s) => s.name === name)) throw new UsageError(`new scenario: "${name}" is a built-in scenario's name: pick another`);
  if (!existsSync(o.dir)) throw new UsageError(`new scenario: --dir ${o.dir} does not exist`);
  const file = join(o.dir, `${name}.mjs`);
  if (existsSync(file) && !o.force) throw new UsageError(`new scenario: ${file} exists: use --force to overwrite it`);
  checkOutputFile('new scenario', file);
  await writeOutputFile(file, Buffer.from(scenarioTemplate(name, librarySpecifier(o.dir))));
  print(`wrote ${file}\nrun it:  shootdown run --scenario-file ${file} --cpus 4 --seconds 5`);
}
