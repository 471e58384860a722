// sync-rwsem.mjs as simulated CPUs: each worker installs its wake word, so
// a waiter that gives up spinning sleeps on it and is woken only by the
// releases' kicks (every sleeper of the lock). Writers keep x == y with a
// split update; readers check it. Reports torn reads and the wake
// statistics: a sleep that ended at the backstop timeout is a lost kick.
import { parentPort, workerData } from 'node:worker_threads';
import { downRead, downWrite, installCpuWake, setSpinBeforeWait, upRead, upWrite, wakeStats } from '../../dist/src/sync/index.js';
import { startTogether } from './sync-common.mjs';

const { sab, ipiSab, me, cpus, role, iters, sem, x, y, idle, barrier, workers, spins } = workerData;
const a = new Int32Array(sab);
installCpuWake(new Int32Array(ipiSab), me, cpus, () => false);
// Few spins before sleeping: most waits in this test end in a sleep.
setSpinBeforeWait(spins);
startTogether(a, barrier, workers);

let torn = 0;
for (let n = 0; n < iters; n++) {
  if (role === 'writer') {
    downWrite(a, sem);
    const vx = a[x];
    a[x] = vx + 1;
    // Hold it across a host sleep: the others run meanwhile and find it
    // taken even on a loaded host, so their waits do end in sleeps.
    Atomics.wait(a, idle, 0, 0.05);
    a[y] = a[y] + 1;
    upWrite(a, sem);
  } else {
    downRead(a, sem);
    if (a[x] !== a[y]) torn++;
    for (let k = 0; k < 20; k++) Atomics.load(a, y);
    upRead(a, sem);
  }
}
parentPort.postMessage({ done: true, torn, ...wakeStats() });
