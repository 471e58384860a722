// Writers keep x == y under downWrite with a deliberately split two-step
// update; readers check x == y under downRead. A reader that got in while a
// writer was between its two steps would see x == y + 1.
import { parentPort, workerData } from 'node:worker_threads';
import { downRead, downWrite, upRead, upWrite } from '../../dist/src/sync/index.js';
import { startTogether } from './sync-common.mjs';

const { sab, role, iters, sem, x, y, readersInside, maxReaders, barrier, workers } = workerData;
const a = new Int32Array(sab);
startTogether(a, barrier, workers);

let torn = 0;
if (role === 'writer') {
  for (let n = 0; n < iters; n++) {
    downWrite(a, sem);
    const vx = a[x];
    a[x] = vx + 1;
    // Widen the window between the two halves of the update.
    for (let k = 0; k < 50; k++) Atomics.load(a, y);
    const vy = a[y];
    a[y] = vy + 1;
    upWrite(a, sem);
  }
} else {
  for (let n = 0; n < iters; n++) {
    downRead(a, sem);
    const inside = Atomics.add(a, readersInside, 1) + 1;
    if (inside > Atomics.load(a, maxReaders)) Atomics.store(a, maxReaders, inside);
    if (a[x] !== a[y]) torn++;
    Atomics.sub(a, readersInside, 1);
    upRead(a, sem);
  }
}
parentPort.postMessage({ done: true, torn });
