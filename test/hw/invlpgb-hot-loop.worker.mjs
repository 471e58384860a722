// CPU 1 of the hot-loop test: caches one translation, then translates it in
// a tight loop (long enough for TurboFan to optimise access() into the
// loop) until the test says stop. Runs the compiled dist/ build.
import { workerData } from 'node:worker_threads';
import { attachMachineMemory } from '../../dist/native-layout/memory.js';
import { Mmu } from '../../dist/src/hw/mmu.js';
import { bindThreadToCpu } from '../../dist/src/hw/owner.js';

const { sab, shape, root, pcid, va, flagsSab } = workerData;
const flags = new Int32Array(flagsSab);
bindThreadToCpu(1);
const mmu = new Mmu(attachMachineMemory(sab, shape), 1);
mmu.writeCr3(root, pcid, false);
mmu.access(va, false, true);
Atomics.store(flags, 0, 1); // entry cached, looping
let x = 0;
for (let n = 1; ; n++) {
  x ^= mmu.access(va, false, true);
  // The stop flag is read rarely, so the loop body is access() alone.
  if ((n & 0xfffff) === 0 && Atomics.load(flags, 1) !== 0) break;
}
Atomics.store(flags, 2, x | 1); // done
