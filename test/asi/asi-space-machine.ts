// A kernel machine whose CPUs follow an ASI variant (test/asi/asi-machine.ts
// boots it, with the nonsensitive physmap when the variant has ASI): the
// variant applied on every CPU and the direct map built before any mm
// exists, as setupMmMachine does for the scenarios.
import { directMapInit } from '../../src/kernel/asi/direct-map.js';
import { applyVariant } from '../../src/kernel/ctx.js';
import { parseVariant } from '../../src/kernel/variant.js';
import { type AsiMachine, asiMachine } from './asi-machine.js';

export function asiSpaceMachine(variant: string, cpus = 2): AsiMachine {
  const v = parseVariant(variant);
  const m = asiMachine(cpus, {}, v.asi);
  for (const k of [m.boot, ...m.cpu]) applyVariant(k, v);
  directMapInit(m.boot, !v.asi);
  return m;
}
