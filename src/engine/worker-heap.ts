// The young generation of the CPU workers' V8 heaps. A Node worker isolate
// costs about 8 MiB of resident memory, most of it the new space's
// semi-spaces, which V8 grows up to 16 MiB each for throughput. A CPU's hot
// paths allocate nothing, and a machine may have 64 CPUs: issue 13 budgets
// 8 MiB per CPU beyond the SharedArrayBuffer. With 1 MiB semi-spaces a
// worker is about 6.3 MiB (64 plain workers: 7.9 -> 6.35 MiB each, measured
// on Node 20.20); a scavenge of 1 MiB is short and rare here.
//
// The flag is read when an isolate's heap is configured, so setting it at
// run time changes every worker started after, and not the main thread's
// heap (already configured). It is process-wide: call it only from the
// engine, right before starting CPU workers.

import { setFlagsFromString } from 'node:v8';

/** Semi-space cap (MiB) for worker isolates started from now on. */
export const WORKER_SEMI_SPACE_MB = 1;

let applied = false;

/** Caps the new space of the worker isolates this process starts from now on (idempotent). */
export function capWorkerYoungGeneration(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString(`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
}
