// Shared set-up for the page allocator tests: small machines, list readers.

import {
  FRAME_ORDER_MASK, FRAME_ORDER_SHIFT, FRAME_STATE_MASK, NR_FREETYPES,
} from '../../native-layout/bits.js';
import {
  FRAME_STRIDE, FR_FLAGS, FR_NEXT, PCP_COUNT, PCP_HEAD, PCP_STRIDE, ZONE_FREE_HEAD, ZONE_NR_FREE,
} from '../../native-layout/fields.js';
import { createMachineMemory, type MachineMemory } from '../../native-layout/memory.js';
import { defaultShape } from '../../native-layout/shape.js';
import { checkAllocator } from '../../src/check/allocator-invariants.js';
import { PageAllocator, type AllocatorOptions, type BootOptions } from '../../src/kernel/page_alloc/index.js';

export const MiB = 1024 * 1024;

export interface Machine {
  readonly mem: MachineMemory;
  readonly pa: PageAllocator;
}

export function machine(opts: { memMiB?: number; cpus?: number } & AllocatorOptions & BootOptions = {}): Machine {
  const mem = createMachineMemory(defaultShape({ memBytes: (opts.memMiB ?? 16) * MiB, cpus: opts.cpus ?? 4 }));
  return { mem, pa: PageAllocator.boot(mem, opts) };
}

/** Pfns on buddy list (order, ft), head first. */
export function freeList(mem: MachineMemory, order: number, ft: number): number[] {
  const out: number[] = [];
  let p = mem.views.zone[ZONE_FREE_HEAD + order * NR_FREETYPES + ft]!;
  while (p !== -1 && out.length <= mem.layout.frames) {
    out.push(p);
    p = mem.views.frame[p * FRAME_STRIDE + FR_NEXT]!;
  }
  return out;
}

/** Pfns on a CPU's pcp list, head first. */
export function pcpList(mem: MachineMemory, cpu: number, pindex: number): number[] {
  const out: number[] = [];
  let p = mem.views.pcp[cpu * PCP_STRIDE + PCP_HEAD + pindex]!;
  while (p !== -1 && out.length <= mem.layout.frames) {
    out.push(p);
    p = mem.views.frame[p * FRAME_STRIDE + FR_NEXT]!;
  }
  return out;
}

export function pcpCount(mem: MachineMemory, cpu: number): number {
  return mem.views.pcp[cpu * PCP_STRIDE + PCP_COUNT]!;
}

export function nrFree(mem: MachineMemory, order: number): number {
  return mem.views.zone[ZONE_NR_FREE + order]!;
}

export function frameFlags(mem: MachineMemory, pfn: number): number {
  return mem.views.frame[pfn * FRAME_STRIDE + FR_FLAGS]!;
}

export function frameState(mem: MachineMemory, pfn: number): number {
  return frameFlags(mem, pfn) & FRAME_STATE_MASK;
}

export function frameOrder(mem: MachineMemory, pfn: number): number {
  return (frameFlags(mem, pfn) & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT;
}

/** Violation messages, for readable expect() failures. */
export function violations(mem: MachineMemory): string[] {
  return checkAllocator(mem).map((v) => `[${v.kind}] ${v.message}`);
}

/** Allocates until the zone refuses; returns the pfns. */
export function allocAll(pa: PageAllocator, cpu: number, order: number, gfp: number): number[] {
  const out: number[] = [];
  for (;;) {
    const pfn = pa.allocPages(cpu, order, gfp);
    if (pfn < 0) return out;
    out.push(pfn);
  }
}
