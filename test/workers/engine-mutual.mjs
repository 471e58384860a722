// Program module for runFree: two CPUs call each other with wait on every
// op, so at any moment both may be inside their wait loop at once; each
// must ack the other from there. The function counts runs per CPU.
import { C } from '../../dist/native-layout/counters.js';
import { IPI_FUNC_FIRST_WORKLOAD, pollIpis, registerIpiFunc, smpCallFunctionSingle } from '../../dist/src/kernel/smp.js';

const FUNC = IPI_FUNC_FIRST_WORKLOAD + 1;
let ran = 0;

export function createCpuProgram(ctx) {
  const { smp, cpu, cpus } = ctx;
  registerIpiFunc(FUNC, (c) => {
    ran++;
    c.counters[c.countersAt + C.ipiFuncRuns] += 1;
  });
  const peer = (cpu + 1) % cpus;
  let calls = 0;
  return {
    poll: () => pollIpis(smp),
    step() {
      smpCallFunctionSingle(smp, peer, FUNC, cpu, 0, 0, 0, true);
      calls++;
    },
    finish: () => ({ calls, ran }),
  };
}
