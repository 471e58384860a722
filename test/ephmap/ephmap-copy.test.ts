// ephmap-copy without injected bugs: every copy reads the file's content,
// the mitigation flushes leave no CPU holding a translation to a page its
// process lost, the end-of-run check is clean, no frame is lost. Runs from
// dist/ (npm run build first).
import { describe, expect, it } from 'vitest';
import { expectCleanRun } from '../engine/clean-run.js';

describe.each(['ephmap', 'mermap', 'kmap', 'physmap'])('ephmap-copy map=%s', (map) => {
  it('reads back every copy with a clean end-of-run check', async () => {
    const s = await expectCleanRun({ scenario: 'ephmap-copy', options: { map }, minRemoteFlushes: map === 'physmap' || map === 'kmap' ? -1 : 20 });
    expect(s['reads']).toBeGreaterThan(100);
    expect(s['evictions']).toBeGreaterThan(5);
    expect(s['closes']).toBeGreaterThan(0);
    if (map !== 'physmap') {
      expect(s['ephemeralReads']).toBeGreaterThan(s['reads']! / 2);
      expect(s['holds']).toBeGreaterThan(5);
    }
    if (map === 'mermap') expect(s['scratch']).toBeGreaterThan(5);
  }, 60_000);
});

describe('ephmap-copy slots=2', () => {
  it('maps two pages at once (the copy-on-write shape) and reads both back', async () => {
    const s = await expectCleanRun({ scenario: 'ephmap-copy', options: { slots: 2 }, minRemoteFlushes: 20 });
    expect(s['ephemeralReads']).toBeGreaterThan(s['reads']!);
  }, 60_000);
});
