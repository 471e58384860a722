// Seqlock (include/linux/seqlock.h) over five Int32 words at a[i]:
//   a[i]         sequence: odd while a writer is inside
//   a[i + 1]     readers parked waiting for an odd sequence to turn even
//   a[i + 2..4]  the writers' ticket spinlock (spinlock.ts)
// Readers never write shared memory, so any number of them cost the writer
// nothing; they pay instead by retrying when a write overlapped.
//
//   let s;
//   do { s = readSeqbegin(a, i); x = d[0]; y = d[1]; } while (readSeqretry(a, i, s));
//
// Why the data reads between begin and retry may be plain typed-array reads:
// a seqlock reader is *expected* to race with the writer, and its result is
// thrown away unless both sequence loads return the same even value. Plain
// Int32 element reads are tear-free in JavaScript, so a racing read returns
// some value a writer stored, never garbage that could crash the reader;
// the only hazard is a mix of old and new values, which is exactly what the
// retry rejects. For the retry to see an overlapping write, the data loads
// must not be performed after the second sequence load: the kernel puts
// smp_rmb() in read_seqcount_retry for that. JavaScript has no load fence;
// what stands in for it is (1) V8 never moves memory accesses across an
// Atomics call, and (2) on an x86-64 host (TSO) loads are not reordered with
// other loads, which is also why smp_rmb() compiles to nothing on x86. On a
// weakly ordered host (arm64), V8's Atomics.load is a load-acquire, which
// orders later accesses only, so this argument does not hold there; the
// data reads would then have to be Atomics.load too.
// Atomic data reads would cost a fence per word on every read-side pass for
// nothing on x86, and the data belongs to the caller, who knows its layout.

import { PARK_TIMEOUT_MS, SPIN_BEFORE_WAIT, spinHook } from './hook.js';
import { WAIT_ANY, cpuCancelSleep, cpuPrepareSleep, cpuSleep, hasCpuWake, kickWaiters, wordAddr } from './wake.js';
import { spinLock, spinUnlock } from './spinlock.js';

export const SEQLOCK_WORDS = 5;

const PARKED = 1;
const LOCK = 2;

export function writeSeqlock(a: Int32Array, i: number): void {
  // Writers serialise on the spinlock first: two writers each bumping the
  // sequence once would leave it even while both are still writing.
  spinLock(a, i + LOCK);
  // The odd sequence is published with an atomic RMW before any data
  // store: a reader that sees the new data must also see a changed sequence
  // in its retry.
  Atomics.add(a, i, 1);
}

export function writeSequnlock(a: Int32Array, i: number): void {
  // Back to even only after the data stores (program order before an
  // atomic RMW): a reader that begins on the new even value sees all of them.
  Atomics.add(a, i, 1);
  if (Atomics.load(a, i + PARKED) !== 0) {
    kickWaiters(wordAddr(a, i), WAIT_ANY, Infinity);
    Atomics.notify(a, i);
  }
  spinUnlock(a, i + LOCK);
}

/** Returns an even sequence to pass to readSeqretry, waiting out a writer. */
export function readSeqbegin(a: Int32Array, i: number): number {
  const s = Atomics.load(a, i);
  if ((s & 1) === 0) return s;
  return readSeqbeginSlow(a, i, s);
}

function readSeqbeginSlow(a: Int32Array, i: number, s: number): number {
  // Starting a read while the sequence is odd is wasted work (the retry is
  // certain), and with more CPUs than cores the spinning reader may be what
  // keeps the writer off a core: spin briefly, then park.
  let spins = 0;
  while ((s & 1) !== 0) {
    spinHook();
    if (++spins > SPIN_BEFORE_WAIT) {
      // Announce before sleeping; the writer bumps the sequence before it
      // reads this count, so either it notifies us or our wait sees the
      // changed sequence and returns at once.
      Atomics.add(a, i + PARKED, 1);
      if (hasCpuWake()) {
        const seen = cpuPrepareSleep(wordAddr(a, i), WAIT_ANY);
        if (Atomics.load(a, i) === s) cpuSleep(seen);
        else cpuCancelSleep();
      } else {
        Atomics.wait(a, i, s, PARK_TIMEOUT_MS);
      }
      Atomics.sub(a, i + PARKED, 1);
    }
    s = Atomics.load(a, i);
  }
  return s;
}

/** True if a writer overlapped the read that began with `start`: read again. */
export function readSeqretry(a: Int32Array, i: number, start: number): boolean {
  return Atomics.load(a, i) !== start;
}
