// `shootdown new scenario NAME` / `shootdown new design NAME`: writes a
// commented, working scenario or design module that `run --scenario-file`
// or `run --design` runs as it is, for an author to change.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { checkOutputFile, writeOutputFile } from './output-files.js';
import { SCENARIOS } from '../workloads/index.js';
import { PACKAGE_ROOT } from '../paths.js';
import { VariantError, parseBuiltinVariant } from '../kernel/variant.js';

export const NEW_KINDS = ['scenario', 'design'] as const;

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

/**
 * The design template is the example design (examples/ephmap8-lazy.mjs),
 * the same way: NAME for ephmap8-lazy and `lib` for the import.
 */
const DESIGN_TEMPLATE_SOURCE = new URL('examples/ephmap8-lazy.mjs', PACKAGE_ROOT);
const DESIGN_TEMPLATE_NAME = 'ephmap8-lazy';

/** The text of `new design NAME` importing the library as `lib`. */
export function designTemplate(name: string, lib: string): string {
  return readFileSync(DESIGN_TEMPLATE_SOURCE, 'utf8')
    .replaceAll(DESIGN_TEMPLATE_NAME, name)
    .replace("} from 'shootdown';", `} from '${lib}';`);
}

/** Why name cannot be a design's: a built-in variant's spelling. */
function builtinVariantName(name: string): boolean {
  try {
    parseBuiltinVariant(name);
    return true;
  } catch (e) {
    if (e instanceof VariantError) return false;
    throw e;
  }
}

/** `shootdown new <kind> <name>`: writes <dir>/<name>.mjs; prints where and how to run it. */
export async function runNew(kind: string, name: string, o: NewOptions, print: (t: string) => void): Promise<void> {
  if (!(NEW_KINDS as readonly string[]).includes(kind)) throw new UsageError(`new: unknown kind "${kind}": use ${NEW_KINDS.join(', ')}`);
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(name)) {
    throw new UsageError(`new ${kind}: name "${name}" is invalid: use 1-40 lower-case letters, digits and dashes, starting with a letter`);
  }
  if (kind === 'scenario' && SCENARIOS.some((s) => s.name === name)) throw new UsageError(`new scenario: "${name}" is a built-in scenario's name: pick another`);
  if (kind === 'design' && builtinVariantName(name)) throw new UsageError(`new design: "${name}" is a built-in variant's name: pick another`);
  if (!existsSync(o.dir)) throw new UsageError(`new ${kind}: --dir ${o.dir} does not exist`);
  const file = join(o.dir, `${name}.mjs`);
  if (existsSync(file) && !o.force) throw new UsageError(`new ${kind}: ${file} exists: use --force to overwrite it`);
  checkOutputFile(`new ${kind}`, file);
  const lib = librarySpecifier(o.dir);
  if (kind === 'design') {
    await writeOutputFile(file, Buffer.from(designTemplate(name, lib)));
    print(`wrote ${file}\nrun it:  shootdown run fio-randread --design ${file} --cpus 4 --seconds 5`);
    return;
  }
  await writeOutputFile(file, Buffer.from(scenarioTemplate(name, lib)));
  print(`wrote ${file}\nrun it:  shootdown run --scenario-file ${file} --cpus 4 --seconds 5`);
}
