// Spawning helpers for the multi-worker sync tests. Workers run the compiled
// dist/ build (the test script builds first) and report with one
// { done: true, ... } message; other messages are progress signals.
import { Worker } from 'node:worker_threads';

export interface Done {
  done: true;
  [key: string]: unknown;
}

export interface Running {
  worker: Worker;
  /** Resolves with the { done } message once the worker has exited cleanly. */
  finished: Promise<Done>;
  /** Resolves on the first message carrying `key`. */
  signal(key: string): Promise<void>;
}

export function spawn(url: URL, workerData: unknown): Running {
  const worker = new Worker(url, { workerData });
  const seen = new Set<string>();
  const waiting = new Map<string, () => void>();
  let done: Done | undefined;
  worker.on('message', (m: Record<string, unknown>) => {
    if (m['done'] === true) done = m as Done;
    for (const key of Object.keys(m)) {
      seen.add(key);
      waiting.get(key)?.();
    }
  });
  const finished = new Promise<Done>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code === 0 && done) resolve(done);
      else reject(new Error(`worker ${url.pathname} exited with code ${code} before reporting`));
    });
  });
  const signal = (key: string): Promise<void> =>
    seen.has(key) ? Promise.resolve() : new Promise((resolve) => waiting.set(key, resolve));
  return { worker, finished, signal };
}

export function runAll(url: URL, data: unknown[]): Promise<Done[]> {
  return Promise.all(data.map((d) => spawn(url, d).finished));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` on the event loop (never blocking it) until true or `ms` pass. */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(1);
  }
}
