// Rewrites one page-table entry as fast as it can, through the ptstore write
// protocol, while the test's thread walks it: install A, clear, install B,
// replace B by A (present -> present with another high word). Runs the
// compiled dist/ build, like the other test workers.
import { workerData } from 'node:worker_threads';
import { clearEntry, setEntry } from '../../dist/src/hw/ptstore.js';

const { sab, ptOffset, ptLength, seqOffset, seqLength, word, flagsSab, loA, hiA, loB, hiB, rounds } = workerData;
const pt = new Int32Array(sab, ptOffset, ptLength);
const seq = new Int32Array(sab, seqOffset, seqLength);
const flags = new Int32Array(flagsSab);
Atomics.store(flags, 0, 1); // started
for (let i = 0; i < rounds && Atomics.load(flags, 2) === 0; i++) {
  setEntry(pt, seq, word, loA, hiA);
  clearEntry(pt, seq, word);
  setEntry(pt, seq, word, loB, hiB);
  setEntry(pt, seq, word, loA, hiA);
}
Atomics.store(flags, 1, 1); // done
