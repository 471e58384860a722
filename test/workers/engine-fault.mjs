// Program module for runFree: every CPU calls the next CPU with wait on
// every op (so CPUs block on each other), and CPU `faultCpu` throws in op
// `faultOp`. The others must unwind from their waits and the run end with
// a CpuFaultError naming that CPU and op.
import { IPI_FUNC_NOP, pollIpis, smpCallFunctionSingle } from '../../dist/src/kernel/smp.js';

export function createCpuProgram(ctx) {
  const { faultCpu, faultOp } = ctx.options;
  const { smp, cpu, cpus } = ctx;
  let op = 0;
  return {
    poll: () => pollIpis(smp),
    step() {
      if (cpu === faultCpu && op === faultOp) throw new Error(`injected test fault on CPU ${cpu}`);
      op++;
      if (cpus > 1) smpCallFunctionSingle(smp, (cpu + 1) % cpus, IPI_FUNC_NOP, 0, 0, 0, 0, true);
    },
    finish: () => ({ op }),
  };
}
