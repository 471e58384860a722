// A booted kernel with ASI on (the nonsensitive physmap pre-allocated),
// several CPUs driven from one thread, each with its own allocator handle on
// the nonsensitive lane (as a CPU worker gets from cpuBringup).
import { createMachineMemory, type MachineMemory } from '../../native-layout/memory.js';
import { defaultShape, type MachineShape } from '../../native-layout/shape.js';
import { injected } from '../../src/check/bugs.js';
import { resetOracle } from '../../src/check/oracle.js';
import { unbindThread } from '../../src/hw/owner.js';
import { bootMachine, cpuBringup } from '../../src/kernel/boot.js';
import { type KernelCtx, resetKernels } from '../../src/kernel/ctx.js';
import { makeSmpCtx, pollIpis, smpInit } from '../../src/kernel/smp.js';
import { setSpinHook } from '../../src/sync/hook.js';
import { GFP_KERNEL } from '../../src/kernel/page_alloc/gfp.js';
import { PAGEBLOCK_ORDER } from '../../native-layout/shape.js';

export interface AsiMachine {
  readonly mem: MachineMemory;
  readonly boot: KernelCtx;
  readonly cpu: readonly KernelCtx[];
}

export function asiMachine(cpus = 2, shape: Partial<MachineShape> = {}, asi = true): AsiMachine {
  resetKernels();
  unbindThread();
  injected.fill(0);
  const mem = createMachineMemory(defaultShape({
    memBytes: 16 * 2 ** 20, cpus, tlb4kSets: 16, tlb4kWays: 4, tlbHugeSets: 4, tlbHugeWays: 2, pscEntries: 16,
    maxMms: 16, maxTasks: 32, maxVmas: 8, ...shape,
  }));
  smpInit(mem);
  resetOracle(mem.views);
  const boot = bootMachine(mem, makeSmpCtx(mem, 0), { asi });
  const cpu = Array.from({ length: cpus }, (_, c) => cpuBringup(mem, makeSmpCtx(mem, c)));
  setSpinHook(() => {
    for (const k of cpu) pollIpis(k.smp);
  });
  return { mem, boot, cpu };
}

export function resetAsiMachine(): void {
  setSpinHook(null);
  injected.fill(0);
}

/** Flip every free pageblock to nonsensitive (order-9 kernel allocations), free them again; their pfns. */
export function allBlocksNonsensitive(k: KernelCtx): number[] {
  const got: number[] = [];
  for (;;) {
    const p = k.alloc.allocPages(k.cpu, PAGEBLOCK_ORDER, GFP_KERNEL);
    if (p < 0) break;
    got.push(p);
  }
  for (const p of got) k.alloc.freePages(k.cpu, p, PAGEBLOCK_ORDER);
  return got;
}

