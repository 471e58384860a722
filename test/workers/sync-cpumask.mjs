// Worker k owns CPUs c with c % workers == k and sets and clears them over
// and over in a mask shared with the others; every bit lives in a word that
// other workers are modifying. A non-atomic set or clear would sooner or
// later write back a stale word and flip someone else's bit.
import { parentPort, workerData } from 'node:worker_threads';
import { cpumaskClearCpu, cpumaskSetCpu, cpumaskTestCpu } from '../../dist/src/sync/index.js';
import { startTogether } from './sync-common.mjs';

const { sab, mask, me, rounds, barrier, workers } = workerData;
const a = new Int32Array(sab);
startTogether(a, barrier, workers);

let lost = 0;
for (let r = 0; r < rounds; r++) {
  for (let c = me; c < 64; c += workers) cpumaskSetCpu(a, mask, c);
  for (let c = me; c < 64; c += workers) if (!cpumaskTestCpu(a, mask, c)) lost++;
  for (let c = me; c < 64; c += workers) cpumaskClearCpu(a, mask, c);
  for (let c = me; c < 64; c += workers) if (cpumaskTestCpu(a, mask, c)) lost++;
}
for (let c = me; c < 64; c += workers) cpumaskSetCpu(a, mask, c);
parentPort.postMessage({ done: true, lost });
