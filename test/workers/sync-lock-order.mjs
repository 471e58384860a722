// Takes the spinlock at a[0] once and records its arrival in the lock:
// a[11] counts acquisitions, a[8 + n] is who got it n-th.
import { parentPort, workerData } from 'node:worker_threads';
import { spinLock, spinUnlock } from '../../dist/src/sync/index.js';

const { sab, me } = workerData;
const a = new Int32Array(sab);
spinLock(a, 0);
a[8 + Atomics.add(a, 11, 1)] = me;
spinUnlock(a, 0);
parentPort.postMessage({ done: true });
