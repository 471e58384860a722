// `shootdown new scenario NAME`: writes a commented, working scenario module
// that `run --scenario-file` runs as it is, for an author to change.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { checkOutputFile, writeOutputFile } from './output-files.js';
import { SCENARIOS } from '../workloads/index.js';

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

/** The template of `new scenario NAME` importing the library as `lib`. */
export function scenarioTemplate(name: string, lib: string): string {
  return `// ${name}: a shootdown scenario (written by \`shootdown new scenario ${name}\`).
//
// Every thread of the process maps its own region at set-up, then loops:
// write every page of the region (each write is read back and checked),
// munmap it, check that touching it now faults, and map it again. Sibling
// threads on other CPUs hold translations of the region (the hardware
// fills them speculatively), so every munmap is a TLB shootdown: a stale
// entry that outlives it shows up as an access to an unmapped page, or as
// a read of a frame that was freed and reused.
//
// Run it:   shootdown run --scenario-file ${name}.mjs --cpus 4 --seconds 5
// Options:  shootdown run ${name} --scenario-file ${name}.mjs --options
// Compare:  shootdown compare ${name} --scenario-file ${name}.mjs --variant asi-off,asi-on
//
// Per-thread state lives in task words (tw/setTw), not in variables: a
// thread migrates between CPUs, and each CPU is its own worker thread.
import {
  defineMmScenario, sysMmap, sysMunmap, taskMm, tw, setTw, touchPages, expectSegv, mmDomain, secretOf,
  setupMmapError, W_PHASE, W_ITER, W_REGION, W_PAGES, VM_READ, VM_WRITE,
} from '${lib}';

const NAME = '${name}';
// W_PHASE counts the write passes of this round (0..touches-1); at touches the region is unmapped.
const PH_TOUCH = 0;

function mapRegion(k, tid, mm) {
  return sysMmap(k, mm, tw(k, tid, W_REGION), tw(k, tid, W_PAGES), VM_READ | VM_WRITE);
}

export default defineMmScenario({
  name: NAME,
  description: 'threads write their region, munmap it, check it faults, and map it again',
  // The scenario's own options (--option touches=3), beside the common ones
  // (threads, procs, mode, pages, specPercent, ...: see the README).
  options: {
    touches: { default: 1, min: 1, max: 64 }, // write passes over the region per unmap
  },
  // Common options this scenario changes the default of.
  defaults: { pages: 8 },

  // Set-up, on the main thread before any CPU runs: thread \`index\` of a
  // process gets its 2 MiB chunk (W_REGION, W_PAGES are set already).
  initThread(k, tid, mm, index, opts) {
    const r = mapRegion(k, tid, mm);
    if (r < 0) throw setupMmapError(NAME, 'a thread region', r, k);
  },

  // One op of thread \`tid\`, on whichever CPU it is scheduled.
  step(k, tid, cpu, opts) {
    const mm = taskMm(k, tid);
    const region = tw(k, tid, W_REGION);
    const pages = tw(k, tid, W_PAGES);
    const iter = tw(k, tid, W_ITER);
    if (tw(k, tid, W_PHASE) < opts.touches) {
      // Write a secret to every page and read it back (a mismatch is a
      // "readback" violation).
      touchPages(k, cpu, tid, mm, region, pages, mmDomain(k, mm), (i) => secretOf(tid, iter, i));
      setTw(k, tid, W_PHASE, tw(k, tid, W_PHASE) + 1);
      return;
    }
    // munmap, then a read of the range must fault ("unmapped-access"
    // otherwise), then map it again for the next round.
    sysMunmap(k, mm, region, pages);
    expectSegv(k, cpu, tid, mm, region + (iter % pages));
    if (mapRegion(k, tid, mm) < 0) cpu.stats.oom++;
    setTw(k, tid, W_ITER, iter + 1);
    setTw(k, tid, W_PHASE, PH_TOUCH);
  },
});
`;
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
