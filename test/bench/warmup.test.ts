import { describe, expect, it } from 'vitest';
import { WarmupDetector } from '../../bench/warmup.js';

describe('WarmupDetector', () => {
  it('is cold while the rate climbs and warm after `calm` windows without a new high', () => {
    const d = new WarmupDetector(1.1, 3);
    // A 64-CPU run's shape: baseline code, then each CPU's compiles land.
    const climb = [1_000, 1_500, 2_400, 8_000, 15_000, 31_000, 51_000, 58_000, 70_000, 92_000];
    for (const r of climb) expect(d.push(r)).toBe(false);
    // Warm: it moves by a third from window to window, but beats the best by no more than 10%.
    expect(d.push(61_000)).toBe(false);
    expect(d.push(98_000)).toBe(false);
    expect(d.push(70_000)).toBe(true);
    expect(d.count()).toBe(13);
  });

  it('starts again from a new record', () => {
    const d = new WarmupDetector(1.1, 2);
    d.push(10);
    expect(d.push(10)).toBe(false);
    expect(d.push(10.5)).toBe(true);
    expect(d.push(20)).toBe(false);
    expect(d.push(19)).toBe(false);
    expect(d.push(21)).toBe(true);
  });

  it('refuses a gain of 1 or less and a calm count under 1', () => {
    expect(() => new WarmupDetector(1, 3)).toThrow(/gain 1 must be > 1/);
    expect(() => new WarmupDetector(1.1, 0)).toThrow(/calm 0/);
  });
});
