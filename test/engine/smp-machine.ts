// Several simulated CPUs driven from one thread, for deterministic tests of
// the IPI protocol: the test decides exactly when each CPU polls.
import { createMachineMemory, defaultShape } from '../../native-layout/index.js';
import { type SmpCtx, makeSmpCtx, smpInit } from '../../src/kernel/smp.js';

export function machineOf(cpus: number): SmpCtx[] {
  const mem = createMachineMemory(defaultShape({ memBytes: 8 * 2 ** 20, cpus }));
  smpInit(mem);
  return Array.from({ length: cpus }, (_, c) => makeSmpCtx(mem, c));
}
