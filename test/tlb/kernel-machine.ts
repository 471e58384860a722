// Several simulated CPUs of one booted kernel, driven from one thread: the
// test decides exactly what each CPU does and when. While any CPU waits
// (for a lock or an IPI ack), the spin hook lets every CPU take its pending
// IPIs, as their own threads would.
import { PTE_RW, PTE_US, VM_READ, VM_SHARED, VM_WRITE } from '../../native-layout/bits.js';
import { MM_SPEC_CHUNKS, MM_SPEC_PAGES, MM_SPEC_START, MM_STRIDE, MM_TLB_GEN } from '../../native-layout/fields.js';
import { createMachineMemory, type MachineMemory } from '../../native-layout/memory.js';
import { defaultShape, type MachineShape } from '../../native-layout/shape.js';
import { injected } from '../../src/check/bugs.js';
import { resetOracle } from '../../src/check/oracle.js';
import { unbindThread } from '../../src/hw/owner.js';
import { bootMachine, cpuBringup } from '../../src/kernel/boot.js';
import { type KernelCtx, resetKernels } from '../../src/kernel/ctx.js';
import { mmAlloc } from '../../src/kernel/mm/mm.js';
import { sysMmap } from '../../src/kernel/mm/mmap.js';
import { userRead, userWrite } from '../../src/kernel/mm/uaccess.js';
import { localIrqRestore, localIrqSave, makeSmpCtx, pollIpis, smpInit } from '../../src/kernel/smp.js';
import { enterLazyTlb, switchMmIrqsOff } from '../../src/kernel/tlb/switch-mm.js';
import { setSpinHook } from '../../src/sync/hook.js';

export const PAGE = 4096;
/** Where test mappings go: page number of a 2 MiB-aligned user address. */
export const BASE = 0x1000000;

export interface KernelMachine {
  readonly mem: MachineMemory;
  readonly cpu: readonly KernelCtx[];
}

export function kernelMachine(cpus = 4, shape: Partial<MachineShape> = {}): KernelMachine {
  resetKernels();
  unbindThread();
  injected.fill(0);
  const mem = createMachineMemory(defaultShape({
    memBytes: 16 * 2 ** 20, cpus, tlb4kSets: 16, tlb4kWays: 4, tlbHugeSets: 4, tlbHugeWays: 2, pscEntries: 16,
    maxMms: 16, maxTasks: 32, maxVmas: 8, ...shape,
  }));
  smpInit(mem);
  resetOracle(mem.views);
  const boot = bootMachine(mem, makeSmpCtx(mem, 0));
  const cpu = Array.from({ length: cpus }, (_, c) => cpuBringup(mem, makeSmpCtx(mem, c), boot.alloc));
  setSpinHook(() => {
    for (const k of cpu) pollIpis(k.smp);
  });
  return { mem, cpu };
}

/** Tear-down for afterEach: no hook, no bug left on. */
export function resetMachineState(): void {
  setSpinHook(null);
  injected.fill(0);
}

/** A new address space with one VMA of `pages` read-write pages at BASE; speculation aimed at it. */
export function processWith(k: KernelCtx, pages: number, start = BASE): number {
  return mappedProcess(k, pages, start, VM_READ | VM_WRITE, -1, 0);
}

/** A new address space mapping `pages` pages of `file` from pgoff at start (MAP_SHARED when shared). */
export function fileProcessWith(k: KernelCtx, file: number, pages: number, shared: boolean, pgoff = 0, start = BASE): number {
  return mappedProcess(k, pages, start, VM_READ | VM_WRITE | (shared ? VM_SHARED : 0), file, pgoff);
}

/** mm_alloc + one mmap, with the speculative-fill window aimed at it. */
function mappedProcess(k: KernelCtx, pages: number, start: number, vmFlags: number, file: number, pgoff: number): number {
  const mm = mmAlloc(k);
  if (mm < 0) throw new Error(`mmAlloc: ${mm}`);
  const r = sysMmap(k, mm, start, pages, vmFlags, file, pgoff);
  if (r < 0) throw new Error(`sysMmap: ${r}`);
  k.mm[mm * MM_STRIDE + MM_SPEC_START] = start;
  k.mm[mm * MM_STRIDE + MM_SPEC_PAGES] = pages;
  k.mm[mm * MM_STRIDE + MM_SPEC_CHUNKS] = 1;
  return mm;
}

/** switch_mm with interrupts off, as the scheduler does it. */
export function switchTo(k: KernelCtx, mm: number): void {
  const f = localIrqSave(k.smp);
  switchMmIrqsOff(k, mm);
  localIrqRestore(k.smp, f);
}

/** A kernel thread starts on k: lazy on whatever mm is loaded. */
export function goLazy(k: KernelCtx): void {
  const f = localIrqSave(k.smp);
  enterLazyTlb(k);
  localIrqRestore(k.smp, f);
}

export function write(k: KernelCtx, mm: number, vpn: number, secret: number): number {
  return userWrite(k, mm, vpn * PAGE, 1, secret);
}

export function read(k: KernelCtx, mm: number, vpn: number): number {
  return userRead(k, mm, vpn * PAGE);
}

/** pfn k's TLB translates vpn to under its current PCID, or -1. */
export function cached(k: KernelCtx, vpn: number): number {
  return k.mmu.tlb.probePfn(vpn * PAGE, k.mmu.cr3Pcid);
}

export function tlbGen(k: KernelCtx, mm: number): number {
  return Atomics.load(k.mm, mm * MM_STRIDE + MM_TLB_GEN);
}

export const USER_RW = PTE_RW | PTE_US;
