import { describe, expect, it } from 'vitest';
import {
  SPIN_BEFORE_WAIT,
  downWrite,
  initCompletion,
  mutexLock,
  mutexUnlock,
  spinLock,
  spinUnlock,
  upWrite,
  writeSeqlock,
  writeSequnlock,
  complete,
} from '../../src/sync/index.js';
import { spawn } from './workers.js';

// Past SPIN_BEFORE_WAIT calls the worker is in its parked phase: reaching
// this count proves the hook keeps running while parked, not only while
// spinning.
const HOOK_CALLS = SPIN_BEFORE_WAIT + 20;

interface Case {
  op: string;
  hold: (a: Int32Array) => void;
  release: (a: Int32Array) => void;
}

const cases: Case[] = [
  { op: 'spinLock', hold: (a) => spinLock(a, 0), release: (a) => spinUnlock(a, 0) },
  { op: 'mutexLock', hold: (a) => mutexLock(a, 0), release: (a) => mutexUnlock(a, 0) },
  { op: 'downRead', hold: (a) => downWrite(a, 0), release: (a) => upWrite(a, 0) },
  { op: 'downWrite', hold: (a) => downWrite(a, 0), release: (a) => upWrite(a, 0) },
  { op: 'readSeqbegin', hold: (a) => writeSeqlock(a, 0), release: (a) => writeSequnlock(a, 0) },
  { op: 'waitForCompletion', hold: (a) => initCompletion(a, 0), release: (a) => complete(a, 0) },
];

describe('spin hook', () => {
  it.each(cases)('a worker waiting in $op calls the installed hook while spinning and while parked', async (c) => {
    const a = new Int32Array(new SharedArrayBuffer(4 * 8));
    c.hold(a);
    const w = spawn(new URL('../workers/sync-op.mjs', import.meta.url), {
      sab: a.buffer,
      op: c.op,
      index: 0,
      hookAfter: HOOK_CALLS,
    });
    await w.signal('spinning');
    c.release(a);
    const done = await w.finished;
    expect(done['hookCalls']).toBeGreaterThanOrEqual(HOOK_CALLS);
  });
});
