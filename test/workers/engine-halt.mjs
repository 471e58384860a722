// Program module for runFree: every CPU calls the next CPU with wait on
// every op (so CPUs are mid-call when it happens), and CPU `haltCpu`, in op
// `haltOp`, does what a CPU does on a violation it cannot run past
// (src/kernel/mm/uaccess.ts on a user-fault-loop): records it, halts the
// machine and unwinds with ViolationHalt. The run must end stopped by
// 'halt' with the record, and no fault.
import { ViolationHalt, haltMachine } from '../../dist/src/check/halt.js';
import { V_USER_FAULT_LOOP, reportViolation } from '../../dist/src/check/oracle.js';
import { IPI_FUNC_NOP, pollIpis, smpCallFunctionSingle } from '../../dist/src/kernel/smp.js';

export function createCpuProgram(ctx) {
  const { haltCpu, haltOp } = ctx.options;
  const { smp, cpu, cpus, mem } = ctx;
  let op = 0;
  return {
    poll: () => pollIpis(smp),
    step() {
      if (cpu === haltCpu && op === haltOp) {
        reportViolation(mem.views, cpu, V_USER_FAULT_LOOP, 0x1000000000, -14, 64, 1, 0, op);
        haltMachine(mem.views);
        throw new ViolationHalt(`test halt on CPU ${cpu}`);
      }
      op++;
      if (cpus > 1) smpCallFunctionSingle(smp, (cpu + 1) % cpus, IPI_FUNC_NOP, 0, 0, 0, 0, true);
    },
    finish: () => ({ op }),
  };
}
