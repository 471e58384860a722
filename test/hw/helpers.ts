// Test fixtures for the hardware tests. Page-table pages and mapped frames
// come from the real PageAllocator; TestFrameAllocator only wraps it to count
// frames and to make chosen allocations fail (for the ENOMEM paths).

import { PTE_G, PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { C, type CounterName } from '../../native-layout/counters.js';
import { COUNTERS_STRIDE } from '../../native-layout/fields.js';
import { createMachineMemory, type MachineMemory } from '../../native-layout/memory.js';
import { defaultShape, type MachineShape } from '../../native-layout/shape.js';
import { initPtSlots } from '../../src/hw/ptstore.js';
import { Mmu, publishThreadMmuCounters } from '../../src/hw/mmu.js';
import { type FrameAllocator, type PgtableEnv, mapPte, pgdAlloc, pgtableEnv } from '../../src/kernel/mm/pgtable.js';
import { PageAllocator } from '../../src/kernel/page_alloc/index.js';

/**
 * The real allocator with two test controls: `failNext` makes the next n
 * allocations fail as if memory were exhausted, and `allocated` counts the
 * frames this machine's callers hold. Order-0 frees and allocations on one
 * CPU are LIFO through the per-CPU list, so a freed frame is the next one
 * handed out, which the reuse tests rely on.
 */
export class TestFrameAllocator implements FrameAllocator {
  failNext = 0;
  allocated = 0;
  readonly real: PageAllocator;

  constructor(mem: MachineMemory) {
    this.real = PageAllocator.boot(mem, { pcpBatch: 7, pcpHigh: 28 });
  }

  allocPages(cpu: number, order: number, gfp: number): number {
    if (this.failNext > 0) { this.failNext--; return -1; }
    const pfn = this.real.allocPages(cpu, order, gfp);
    if (pfn >= 0) this.allocated += 2 ** order;
    return pfn;
  }

  freePages(cpu: number, pfn: number, order: number): void {
    this.real.freePages(cpu, pfn, order);
    this.allocated -= 2 ** order;
  }
}

export interface TestMachine {
  mem: MachineMemory;
  alloc: TestFrameAllocator;
  env: PgtableEnv;
  mmu(cpu: number): Mmu;
  counter(cpu: number, name: CounterName): number;
}

/** A small machine: 16 MiB, 2 CPUs, a 16x4 4 KiB TLB, 4x2 huge TLB, 8 PSC entries. */
export function testMachine(overrides: Partial<MachineShape> = {}): TestMachine {
  const shape = defaultShape({
    memBytes: 16 * 1024 * 1024, cpus: 2, tlb4kSets: 16, tlb4kWays: 4, tlbHugeSets: 4, tlbHugeWays: 2,
    pscEntries: 8, ptPages: 64, ...overrides,
  });
  const mem = createMachineMemory(shape);
  initPtSlots(mem.views.ptSlots, shape.ptPages);
  const alloc = new TestFrameAllocator(mem);
  const env = pgtableEnv(mem, alloc);
  const mmus = new Map<number, Mmu>();
  return {
    mem, alloc, env,
    mmu(cpu) {
      let m = mmus.get(cpu);
      if (!m) { m = new Mmu(mem, cpu); mmus.set(cpu, m); }
      return m;
    },
    counter(cpu, name) {
      publishThreadMmuCounters();
      return mem.views.counters[cpu * COUNTERS_STRIDE + C[name]];
    },
  };
}

export const KB4 = 4096;
export const MB2 = 2 * 1024 * 1024;
export const GB1 = 1024 * 1024 * 1024;
/** A user address and a kernel (direct-map) address, canonical bits stripped. */
export const USER_VA = 0x7f0000000000;
export const KERNEL_VA = 0x888000000000;

export interface TwoSpaces extends TestMachine {
  /** Roots of address spaces A (PCID 1) and B (PCID 2). */
  a: number;
  b: number;
  /** Two user pages mapped in both spaces (to different frames) and a global kernel page. */
  va1: number;
  va2: number;
  vaG: number;
  /** Frames: [space][va1, va2]. */
  frames: { a: [number, number]; b: [number, number]; g: number };
}

export const PCID_A = 1;
export const PCID_B = 2;

/**
 * CPU 0 with TLB entries for va1 and va2 under both PCIDs, one global entry
 * for vaG, PSC entries for both PCIDs, and CR3 = A (PCID 1) loaded last.
 */
export function twoAddressSpaces(): TwoSpaces {
  const m = testMachine();
  const { env, alloc } = m;
  const va1 = USER_VA;
  const va2 = USER_VA + KB4;
  const vaG = KERNEL_VA;
  const a = pgdAllocOrThrow(env);
  const b = pgdAllocOrThrow(env);
  const f = () => alloc.allocPages(0, 0, 0);
  const frames = { a: [f(), f()] as [number, number], b: [f(), f()] as [number, number], g: f() };
  for (const [root, fr] of [[a, frames.a], [b, frames.b]] as const) {
    mapPte(env, 0, root, va1, fr[0], PTE_RW | PTE_US);
    mapPte(env, 0, root, va2, fr[1], PTE_RW | PTE_US);
    mapPte(env, 0, root, vaG, frames.g, PTE_RW | PTE_G);
  }
  const mmu = m.mmu(0);
  mmu.writeCr3(b, PCID_B, false);
  mmu.access(va1, false, true);
  mmu.access(va2, false, true);
  mmu.writeCr3(a, PCID_A, false);
  mmu.access(va1, false, true);
  mmu.access(va2, false, true);
  mmu.access(vaG, false, false);
  return { ...m, a, b, va1, va2, vaG, frames };
}

function pgdAllocOrThrow(env: PgtableEnv): number {
  const root = pgdAlloc(env, 0);
  if (root < 0) throw new Error(`pgdAlloc failed: ${root}`);
  return root;
}
