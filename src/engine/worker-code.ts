// Which file the CPU workers start from, and the code cache the main thread
// makes for them (src/engine/cpu-worker-loader.cts explains why). The
// bundle exists only in dist/ after `npm run build`; run from source, or
// without it, workers load the unbundled cpu-worker.js.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type WorkerJitMode, workerJitMode } from './worker-jit.js';

/** The unbundled worker module (programModule and scenario-file runs need its module instances). */
export const WORKER_FILE = fileURLToPath(new URL('./cpu-worker.js', import.meta.url));
/** The CommonJS loader of the bundle (compiled from cpu-worker-loader.cts). */
export const WORKER_LOADER = fileURLToPath(new URL('./cpu-worker-loader.cjs', import.meta.url));
const BUNDLE = fileURLToPath(new URL('./cpu-worker.bundle.cjs', import.meta.url));
/** Is there a bundle (and its loader) to start workers from? */
export const HAVE_BUNDLE = existsSync(WORKER_LOADER) && existsSync(BUNDLE);

interface LoaderModule {
  readonly CODE_CACHE_KEY: string;
  compileCpuWorkerBundle(cachedData?: Uint8Array, produceCache?: boolean): { cache: Buffer | undefined };
}

let loader: LoaderModule | null = null;
/** One cache per JIT mode: V8 checks a cache against the flags in force (worker-jit.ts). */
const caches = new Map<WorkerJitMode, Uint8Array | null>();

/**
 * workerData for a pool of bundled CPU workers: V8's code cache of the
 * bundle, made once per process (about one compile of the bundle on this
 * thread) in a SharedArrayBuffer the workers read without a copy each.
 * Call it after capWorkerYoungGeneration() and setWorkerJitMode(): V8
 * refuses a cache made under other flags, so there is one per JIT mode.
 * Empty when making the cache failed (workers then compile from source,
 * as without a cache).
 */
export function cpuWorkerData(): Record<string, Uint8Array> {
  loader ??= createRequire(import.meta.url)(WORKER_LOADER) as LoaderModule;
  const mode = workerJitMode();
  let cache = caches.get(mode);
  if (cache === undefined) {
    try {
      const data = loader.compileCpuWorkerBundle(undefined, true).cache;
      if (data === undefined) throw new Error('V8 made no code cache');
      cache = new Uint8Array(new SharedArrayBuffer(data.length));
      cache.set(data);
    } catch {
      cache = null;
    }
    caches.set(mode, cache);
  }
  return cache === null ? {} : { [loader.CODE_CACHE_KEY]: cache };
}
