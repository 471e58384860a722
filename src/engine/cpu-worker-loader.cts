// The file a bundled CPU worker starts from. A 64-CPU machine starts 64
// worker threads on (often) 2 host cores, and each used to compile the
// whole worker bundle (~450 KB of JS) from source: its biggest start-up
// cost after Node's own bootstrap. Here the main thread compiles the bundle
// once and hands V8's code cache of it to every worker (piscina's
// workerData, over one SharedArrayBuffer so it is not copied 64 times);
// each worker compiles the same text with that cache, which V8 checks
// (source hash, V8 version and flags) and uses instead of parsing.
//
// CommonJS on purpose: piscina loads a worker file with require() first and
// falls back to import() only when that throws, so an ES module worker file
// is read and compiled as CommonJS once, fails, and is loaded again; and
// the CommonJS loader is cheaper to start in a fresh thread than the ESM
// one. The bundle (cpu-worker.bundle.cjs) is CommonJS for the same reason.
//
// Loading is lazy (on the first task), so the main thread can require this
// file for compileCpuWorkerBundle without running any worker code.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { workerData } from 'node:worker_threads';

/** The bundled CPU worker (esbuild, `npm run bundle`), beside this file in dist/. */
export const CPU_WORKER_BUNDLE = join(__dirname, 'cpu-worker.bundle.cjs');

/** workerData key of the code cache (a Uint8Array over a SharedArrayBuffer). */
export const CODE_CACHE_KEY = 'shootdownCpuWorkerCodeCache';

/** A compiled bundle: the script, and whether V8 refused the cache it was given. */
export interface CompiledBundle {
  readonly script: Script;
  readonly cacheRejected: boolean;
}

/**
 * Compiles the bundle as the CommonJS loader would (the same function
 * wrapper: the cache is keyed by the exact source text), with `cachedData`
 * when given. Throws what reading or compiling the file throws.
 */
export function compileCpuWorkerBundle(cachedData?: Uint8Array): CompiledBundle {
  const source = readFileSync(CPU_WORKER_BUNDLE, 'utf8');
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapped, cachedData === undefined ? { filename: CPU_WORKER_BUNDLE } : { filename: CPU_WORKER_BUNDLE, cachedData });
  return { script, cacheRejected: cachedData !== undefined && script.cachedDataRejected === true };
}

type RunCpu = (task: unknown) => Promise<unknown>;

let runCpu: RunCpu | null = null;

/** Compiles (with the main thread's cache when there is one) and runs the bundle; returns its runCpu. */
function loadBundle(): RunCpu {
  const data = (workerData as Record<string, unknown> | null)?.[CODE_CACHE_KEY];
  const { script, cacheRejected } = compileCpuWorkerBundle(data instanceof Uint8Array ? data : undefined);
  const mod = { exports: {} as { default?: RunCpu } };
  const init = script.runInThisContext() as (e: object, r: NodeJS.Require, m: object, f: string, d: string) => void;
  init(mod.exports, createRequire(CPU_WORKER_BUNDLE), mod, CPU_WORKER_BUNDLE, dirname(CPU_WORKER_BUNDLE));
  const fn = mod.exports.default;
  if (typeof fn !== 'function') throw new TypeError(`${CPU_WORKER_BUNDLE} does not export a default runCpu function`);
  if (process.env['SHOOTDOWN_STARTUP_LOG'] === '1') {
    if (!(data instanceof Uint8Array)) process.stderr.write('startup log: no CPU worker code cache was given (compiled from source)\n');
    else if (cacheRejected) process.stderr.write('startup log: V8 rejected the CPU worker code cache (compiled from source)\n');
  }
  return fn as RunCpu;
}

/** piscina's task handler: the bundle's runCpu, loaded on the first task. */
export default function runCpuTask(task: unknown): Promise<unknown> {
  runCpu ??= loadBundle();
  return runCpu(task);
}
