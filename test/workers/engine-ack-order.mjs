// Program module for runFree: CPU 0 calls a slow function on CPU 1 with
// wait; the function bumps CPU 1's ipiFuncRuns counter when it is done.
// Right after each call returns, CPU 0 reads that counter: with a correct
// ack it always shows the call. `options.bug` turns on one injectable bug
// directly (it has no detecting scenario yet, so --inject would refuse it).
import { C } from '../../dist/native-layout/counters.js';
import { COUNTERS_STRIDE } from '../../dist/native-layout/fields.js';
import { BUG, injected } from '../../dist/src/check/bugs.js';
import { IPI_FUNC_FIRST_WORKLOAD, pollIpis, registerIpiFunc, smpCallFunctionSingle } from '../../dist/src/kernel/smp.js';

const FUNC = IPI_FUNC_FIRST_WORKLOAD + 2;
const nap = new Int32Array(new SharedArrayBuffer(4));

export function createCpuProgram(ctx) {
  const { smp, cpu } = ctx;
  const { bug, slowMs } = ctx.options;
  if (bug) injected[BUG[bug]] = 1;
  registerIpiFunc(FUNC, (c) => {
    Atomics.wait(nap, 0, 0, slowMs);
    c.counters[c.countersAt + C.ipiFuncRuns] += 1;
  });
  const target = COUNTERS_STRIDE + C.ipiFuncRuns;
  let calls = 0;
  let early = 0;
  return {
    poll: () => pollIpis(smp),
    step() {
      if (cpu !== 0) return;
      smpCallFunctionSingle(smp, 1, FUNC, 0, 0, 0, 0, true);
      calls++;
      if (smp.counters[target] < calls) early++;
    },
    finish: () => ({ calls, early }),
  };
}
