// The progress bar's "remaining" field: "-" until something is done (the
// bar library's own estimate printed "NFs" there), then the time left at
// the rate so far.
import { describe, expect, it } from 'vitest';
import { remainingText } from '../../src/cli/progress.js';

describe('progress remaining time', () => {
  it('says "-" before the first unit is done, not NaN', () => {
    expect(remainingText(0, 0, 15)).toBe('-');
    expect(remainingText(12.5, 0, 15)).toBe('-');
    expect(remainingText(0, 3, 15)).toBe('-');
  });

  it('extrapolates from the rate so far, in s, m and h', () => {
    expect(remainingText(10, 5, 15)).toBe('20s');
    expect(remainingText(30, 1, 6)).toBe('2m30s');
    expect(remainingText(3600, 1, 3)).toBe('2h00m');
    expect(remainingText(10, 15, 15)).toBe('0s');
  });
});
