// A simulated CPU for the wake tests: installs its wake word in the ipi
// words, counts its spin-hook calls in a[HOOKS + me], then takes and
// releases the spinlock at a[LOCK] on command.
//   a[CMD + me]: 1 take the lock, 2 release it, 3 exit
//   a[STATE + me]: 1 holding, 2 released
import { parentPort, workerData } from 'node:worker_threads';
import { setSpinHook, spinLock, spinUnlock, installCpuWake, wakeStats } from '../../dist/src/sync/index.js';

const { sab, ipiSab, me, cpus, LOCK, CMD, STATE, HOOKS } = workerData;
const a = new Int32Array(sab);
const ipi = new Int32Array(ipiSab);
installCpuWake(ipi, me, cpus, () => false);
setSpinHook(() => { Atomics.add(a, HOOKS + me, 1); });
for (;;) {
  const cmd = Atomics.load(a, CMD + me);
  if (cmd === 1) {
    spinLock(a, LOCK);
    Atomics.store(a, STATE + me, 1);
    Atomics.store(a, CMD + me, 0);
  } else if (cmd === 2) {
    spinUnlock(a, LOCK);
    Atomics.store(a, STATE + me, 2);
    Atomics.store(a, CMD + me, 0);
  } else if (cmd === 3) {
    break;
  } else {
    Atomics.wait(a, CMD + me, 0, 50);
  }
}
parentPort.postMessage({ done: true, ...wakeStats() });
