// Performs one blocking sync operation on the shared buffer and reports.
// With `hookAfter`, installs a counting spin hook first and posts
// { spinning: true } when it has been called that many times, so the test
// knows the worker is inside the wait loop (and, past SPIN_BEFORE_WAIT
// calls, in its parked phase) before it releases the worker.
import { parentPort, workerData } from 'node:worker_threads';
import * as sync from '../../dist/src/sync/index.js';

const { sab, op, index, timeoutMs, hookAfter } = workerData;
const a = new Int32Array(sab);

let hookCalls = 0;
if (hookAfter !== undefined) {
  sync.setSpinHook(() => {
    if (++hookCalls === hookAfter) parentPort.postMessage({ spinning: true });
  });
}

let result;
switch (op) {
  case 'spinLock':
    sync.spinLock(a, index);
    sync.spinUnlock(a, index);
    result = true;
    break;
  case 'mutexLock':
    sync.mutexLock(a, index);
    sync.mutexUnlock(a, index);
    result = true;
    break;
  case 'downRead':
    sync.downRead(a, index);
    // Report while still holding it: the test checks who is inside.
    result = Atomics.load(a, index);
    sync.upRead(a, index);
    break;
  case 'downWrite':
    sync.downWrite(a, index);
    result = Atomics.load(a, index);
    sync.upWrite(a, index);
    break;
  case 'readSeqbegin':
    result = sync.readSeqbegin(a, index);
    break;
  case 'waitForCompletion':
    result = sync.waitForCompletion(a, index, timeoutMs);
    break;
  default:
    throw new Error(`unknown op ${op}`);
}
sync.setSpinHook(null);
parentPort.postMessage({ done: true, result, hookCalls });
