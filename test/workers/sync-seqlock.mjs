// One writer stores pairs (n, n) with plain stores inside the write side;
// readers take plain snapshots with readSeqbegin/readSeqretry and count any
// accepted pair with x != y. Readers stop once they have accepted enough
// distinct values (or after a time cap), the writer once all readers stop,
// so the overlap does not depend on how the host schedules us.
import { parentPort, workerData } from 'node:worker_threads';
import { readSeqbegin, readSeqretry, writeSeqlock, writeSequnlock } from '../../dist/src/sync/index.js';
import { startTogether } from './sync-common.mjs';

const { sab, role, lock, x, y, readersDone, readers, wantDistinct, capMs, barrier, workers } = workerData;
const a = new Int32Array(sab);
startTogether(a, barrier, workers);

if (role === 'writer') {
  let n = 0;
  while (Atomics.load(a, readersDone) < readers) {
    n++;
    writeSeqlock(a, lock);
    a[x] = n;
    a[y] = n;
    writeSequnlock(a, lock);
  }
  parentPort.postMessage({ done: true, writes: n });
} else {
  let torn = 0;
  let distinct = 0;
  let retries = 0;
  let last = -1;
  const end = Date.now() + capMs;
  for (let reads = 0; distinct < wantDistinct; reads++) {
    let vx;
    let vy;
    for (;;) {
      const s = readSeqbegin(a, lock);
      vx = a[x];
      vy = a[y];
      if (!readSeqretry(a, lock, s)) break;
      retries++;
    }
    if (vx !== vy) torn++;
    if (vx !== last) {
      distinct++;
      last = vx;
    }
    if ((reads & 1023) === 0 && Date.now() > end) break;
  }
  Atomics.add(a, readersDone, 1);
  parentPort.postMessage({ done: true, torn, distinct, retries });
}
