import { describe, expect, it } from 'vitest';
import {
  CPUMASK_WORDS,
  cpumaskAnd,
  cpumaskClear,
  cpumaskClearCpu,
  cpumaskCopy,
  cpumaskFirst,
  cpumaskNext,
  cpumaskOr,
  cpumaskSetCpu,
  cpumaskTestAndSetCpu,
  cpumaskTestCpu,
  cpumaskWeight,
} from '../../src/sync/index.js';
import { runAll } from './workers.js';

function mask(...cpus: number[]): Int32Array {
  const m = new Int32Array(new SharedArrayBuffer(4 * CPUMASK_WORDS));
  for (const c of cpus) cpumaskSetCpu(m, 0, c);
  return m;
}

function cpus(m: Int32Array): number[] {
  const out: number[] = [];
  for (let c = cpumaskFirst(m, 0); c >= 0; c = cpumaskNext(m, 0, c)) out.push(c);
  return out;
}

describe('cpumask', () => {
  it('set, test, weight, first and next work across both words (cpus 0, 31, 32, 63)', () => {
    const m = mask(0, 31, 32, 63);
    expect([m[0], m[1]]).toEqual([1 | (1 << 31), 1 | (1 << 31)]);
    for (let c = 0; c < 64; c++) expect(cpumaskTestCpu(m, 0, c)).toBe([0, 31, 32, 63].includes(c));
    expect(cpumaskWeight(m, 0)).toBe(4);
    expect(cpus(m)).toEqual([0, 31, 32, 63]);
    expect(cpumaskNext(m, 0, 0)).toBe(31);
    expect(cpumaskNext(m, 0, 31)).toBe(32);
    expect(cpumaskNext(m, 0, 62)).toBe(63);
    expect(cpumaskNext(m, 0, 63)).toBe(-1);

    cpumaskClearCpu(m, 0, 0);
    cpumaskClearCpu(m, 0, 63);
    expect(cpus(m)).toEqual([31, 32]);
    expect(cpumaskFirst(m, 0)).toBe(31);
    cpumaskClearCpu(m, 0, 31);
    expect(cpumaskFirst(m, 0)).toBe(32);
    cpumaskClearCpu(m, 0, 32);
    expect(cpumaskFirst(m, 0)).toBe(-1);
    expect(cpumaskWeight(m, 0)).toBe(0);
  });

  it('test-and-set reports the previous state of the bit', () => {
    const m = mask();
    expect(cpumaskTestAndSetCpu(m, 0, 63)).toBe(false);
    expect(cpumaskTestAndSetCpu(m, 0, 63)).toBe(true);
    expect(cpus(m)).toEqual([63]);
  });

  it('copy, or, and and clear write a destination pair at any offset', () => {
    const x = mask(1, 31, 40);
    const y = mask(31, 32, 40, 63);
    const dst = new Int32Array(6);
    cpumaskCopy(x, 0, dst, 2);
    expect(cpus(dst.subarray(2, 4))).toEqual([1, 31, 40]);
    cpumaskOr(dst, 4, x, 0, y, 0);
    expect(cpus(dst.subarray(4, 6))).toEqual([1, 31, 32, 40, 63]);
    expect(cpumaskAnd(dst, 0, x, 0, y, 0)).toBe(true);
    expect(cpus(dst.subarray(0, 2))).toEqual([31, 40]);
    expect(cpumaskAnd(dst, 0, mask(0), 0, mask(1), 0)).toBe(false);
    cpumaskClear(dst, 4);
    expect(cpumaskWeight(dst, 4)).toBe(0);
    expect(cpus(dst.subarray(2, 4))).toEqual([1, 31, 40]);
  });

  it('4 workers setting and clearing disjoint bits of the same words concurrently lose none', async () => {
    const a = new Int32Array(new SharedArrayBuffer(4 * 4));
    const base = { sab: a.buffer, mask: 0, rounds: 20_000, barrier: 2, workers: 4 };
    const results = await runAll(
      new URL('../workers/sync-cpumask.mjs', import.meta.url),
      [0, 1, 2, 3].map((me) => ({ ...base, me })),
    );
    expect(results.map((r) => r['lost'])).toEqual([0, 0, 0, 0]);
    expect(cpumaskWeight(a, 0)).toBe(64);
  });
});
