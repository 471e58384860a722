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
// Minified (esbuild --minify in `npm run bundle`): every worker keeps the
// bundle's source text for V8's lazy compiles, so its size is paid 64
// times at 64 CPUs. Minified, 0.60 MB -> 0.28 MB, and with the single copy
// below, peak RSS of the 64-CPU 16 GiB start-up fell from ~784 MB to
// ~688 MB (bench/README.md). Local names are mangled in worker stacks only;
// profiles and coverage use the unbundled modules (profileDir and
// SHOOTDOWN_WORKER_BUNDLE=0), and the source map is beside the bundle.
//
// Loading is lazy (on the first task), so the main thread can require this
// file for compileCpuWorkerBundle without running any worker code.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compileFunction } from 'node:vm';
import { workerData } from 'node:worker_threads';

/** The bundled CPU worker (esbuild, `npm run bundle`), beside this file in dist/. */
export const CPU_WORKER_BUNDLE = join(__dirname, 'cpu-worker.bundle.cjs');

/** workerData key of the code cache (a Uint8Array over a SharedArrayBuffer). */
export const CODE_CACHE_KEY = 'shootdownCpuWorkerCodeCache';

/** The CommonJS wrapper's parameters, in the loader's order. */
const WRAPPER_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];

/** The bundle's module function as the CommonJS loader would make it. */
export type BundleInit = (e: object, r: NodeJS.Require, m: object, f: string, d: string) => void;

/** A compiled bundle: its module function, whether V8 refused the cache it was given, and the cache it made when asked. */
export interface CompiledBundle {
  readonly init: BundleInit;
  readonly cacheRejected: boolean;
  readonly cache: Buffer | undefined;
}

/**
 * Compiles the bundle as the CommonJS loader would (the same five wrapper
 * parameters: the cache is keyed by the exact source and parameters), with
 * `cachedData` when given, or making a cache when `produceCache`.
 *
 * vm.compileFunction, not a Script over the text wrapped in a function
 * expression: the wrapped text was a second copy of the ~0.3-0.6 MB source
 * in every worker's old space, kept as long as the one the functions are
 * lazily compiled from (start-up RSS at 64 CPUs, issue 13). Throws what
 * reading or compiling the file throws.
 */
export function compileCpuWorkerBundle(cachedData?: Uint8Array, produceCache = false): CompiledBundle {
  const source = readFileSync(CPU_WORKER_BUNDLE, 'utf8');
  const fn = compileFunction(source, WRAPPER_PARAMS, cachedData === undefined
    ? { filename: CPU_WORKER_BUNDLE, produceCachedData: produceCache }
    : { filename: CPU_WORKER_BUNDLE, cachedData }) as unknown as BundleInit & { cachedDataRejected?: boolean; cachedData?: Buffer };
  return { init: fn, cacheRejected: cachedData !== undefined && fn.cachedDataRejected === true, cache: fn.cachedData };
}

type RunCpu = (task: unknown) => Promise<unknown>;

let runCpu: RunCpu | null = null;

/** Compiles (with the main thread's cache when there is one) and runs the bundle; returns its runCpu. */
function loadBundle(): RunCpu {
  const data = (workerData as Record<string, unknown> | null)?.[CODE_CACHE_KEY];
  const { init, cacheRejected } = compileCpuWorkerBundle(data instanceof Uint8Array ? data : undefined);
  const mod = { exports: {} as { default?: RunCpu } };
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
