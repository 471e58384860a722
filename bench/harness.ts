// Benchmark harness: each measurement runs its subject and its raw baseline
// alternately in the same process, several rounds, and reports medians and
// the ratio, so a noisy shared machine moves both sides alike.

import { performance } from 'node:perf_hooks';

export interface Measured {
  readonly name: string;
  readonly unit: string;
  readonly subjectPerSec: number;
  readonly baselineName: string;
  readonly baselinePerSec: number;
  /** subject / baseline throughput: 1.0 = as fast as the raw loop. */
  readonly ratio: number;
}

/** Runs fn (which performs `ops` operations) and returns operations per second. */
function rate(fn: () => void, ops: number): number {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  return ops / (ms / 1000);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function compareRates(opts: {
  name: string;
  unit: string;
  ops: number;
  rounds: number;
  subject: () => void;
  baselineName: string;
  baseline: () => void;
}): Measured {
  // One warm-up of each so both are optimised before timing.
  opts.subject();
  opts.baseline();
  const s: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    s.push(rate(opts.subject, opts.ops));
    b.push(rate(opts.baseline, opts.ops));
  }
  const subjectPerSec = median(s);
  const baselinePerSec = median(b);
  return {
    name: opts.name,
    unit: opts.unit,
    subjectPerSec,
    baselineName: opts.baselineName,
    baselinePerSec,
    ratio: subjectPerSec / baselinePerSec,
  };
}
