import { describe, expect, it } from 'vitest';
import { SEQLOCK_WORDS, readSeqbegin, readSeqretry, writeSeqlock, writeSequnlock } from '../../src/sync/index.js';
import { runAll, spawn, until } from './workers.js';

describe('seqlock', () => {
  it('a read that overlaps a write must retry; one that does not, need not', () => {
    const a = new Int32Array(new SharedArrayBuffer(4 * SEQLOCK_WORDS));
    const s = readSeqbegin(a, 0);
    expect(s & 1).toBe(0);
    expect(readSeqretry(a, 0, s)).toBe(false);
    writeSeqlock(a, 0);
    expect(a[0]! & 1).toBe(1);
    writeSequnlock(a, 0);
    expect(readSeqretry(a, 0, s)).toBe(true);
    expect(readSeqbegin(a, 0)).toBe(s + 2);
  });

  it('a reader that begins during a write waits for the writer to finish', async () => {
    const a = new Int32Array(new SharedArrayBuffer(4 * SEQLOCK_WORDS));
    writeSeqlock(a, 0);
    const w = spawn(new URL('../workers/sync-op.mjs', import.meta.url), { sab: a.buffer, op: 'readSeqbegin', index: 0 });
    // Parked readers are counted in word 1: the worker is past its spin phase.
    await until(() => Atomics.load(a, 1) > 0);
    writeSequnlock(a, 0);
    await expect(w.finished).resolves.toMatchObject({ result: 2 });
  });

  it('readers racing one writer never accept a torn pair, and see it make progress', async () => {
    const a = new Int32Array(new SharedArrayBuffer(4 * 16));
    const wantDistinct = 2_000;
    const base = {
      sab: a.buffer, lock: 0, x: 8, y: 9, readersDone: 10, readers: 2, wantDistinct, capMs: 60_000, barrier: 11, workers: 3,
    };
    const [writer, ...readers] = await runAll(new URL('../workers/sync-seqlock.mjs', import.meta.url), [
      { ...base, role: 'writer' },
      { ...base, role: 'reader' },
      { ...base, role: 'reader' },
    ]);
    for (const r of readers) {
      expect(r['torn']).toBe(0);
      expect(r['distinct']).toBeGreaterThanOrEqual(wantDistinct);
    }
    expect(a[8]).toBe(writer!['writes']);
    expect(a[9]).toBe(writer!['writes']);
  });
});
