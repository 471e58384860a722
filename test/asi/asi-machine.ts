// A kernel machine (test/tlb/kernel-machine.ts) whose CPUs follow an ASI
// variant: the variant applied on every CPU and the direct map built before
// any mm exists, as setupMmMachine does for the scenarios.
import { directMapInit } from '../../src/kernel/asi/direct-map.js';
import { applyVariant } from '../../src/kernel/ctx.js';
import { parseVariant } from '../../src/kernel/variant.js';
import { type KernelMachine, kernelMachine } from '../tlb/kernel-machine.js';

export function asiMachine(variant: string, cpus = 2): KernelMachine {
  const m = kernelMachine(cpus);
  const v = parseVariant(variant);
  for (const k of m.cpu) applyVariant(k, v);
  directMapInit(m.cpu[0]!, !v.asi);
  return m;
}
