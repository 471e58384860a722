// Seeded per-CPU random streams: xorshift32 (Marsaglia), state in a closure-
// free object so the hot loop is a few integer ops. Not for statistics, for
// reproducible op streams: same (seed, cpu), same stream.

import { xorshift32 } from '../xorshift.js';

export class Xorshift32 {
  private s: number;

  constructor(seed: number, stream: number) {
    // Mix seed and stream (splitmix32-style finaliser) so neighbouring CPUs
    // and seeds do not start on correlated states; xorshift must not be 0.
    let z = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z = (z ^ (z >>> 15)) >>> 0;
    this.s = z === 0 ? 0x6d2b79f5 : z;
  }

  /** Next value, uniformly in 0..2^32-1. */
  next(): number {
    this.s = xorshift32(this.s) >>> 0;
    return this.s;
  }

  /** Uniform in 0..n-1 (n small: the modulo bias is irrelevant here). */
  below(n: number): number {
    return this.next() % n;
  }
}
