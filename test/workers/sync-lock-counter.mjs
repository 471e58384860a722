// Increments a[counter] `iters` times with a plain read and a plain write,
// each under the lock named by `kind` ('spin' or 'mutex'): only mutual
// exclusion keeps increments from being lost.
import { parentPort, workerData } from 'node:worker_threads';
import { mutexLock, mutexUnlock, spinLock, spinUnlock } from '../../dist/src/sync/index.js';
import { startTogether } from './sync-common.mjs';

const { sab, kind, iters, lock, counter, barrier, workers } = workerData;
const a = new Int32Array(sab);
startTogether(a, barrier, workers);

if (kind === 'spin') {
  for (let n = 0; n < iters; n++) {
    spinLock(a, lock);
    const c = a[counter];
    a[counter] = c + 1;
    spinUnlock(a, lock);
  }
} else if (kind === 'mutex') {
  for (let n = 0; n < iters; n++) {
    mutexLock(a, lock);
    const c = a[counter];
    a[counter] = c + 1;
    mutexUnlock(a, lock);
  }
} else {
  throw new Error(`unknown lock kind ${kind}: spin or mutex`);
}
parentPort.postMessage({ done: true });
