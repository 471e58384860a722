import { afterEach, describe, expect, it } from 'vitest';
import { INIT_MM } from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import { CPU_CTX_TLB_GEN, CPU_LOADED_MM, CPU_LOADED_MM_ASID, MM_CPUMASK, MM_PGD, MM_STRIDE } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { FLUSH_ALL, FLUSH_GEN_VALID, flushInfo0, flushTlbFunc } from '../../src/kernel/tlb/flush-func.js';
import { incMmTlbGen } from '../../src/kernel/tlb/flush-mm.js';
import { localIrqRestore, localIrqSave } from '../../src/kernel/smp.js';
import { cpumaskTestCpu } from '../../src/sync/cpumask.js';
import { VIOLATION_NAMES, firstViolation, violationCount } from '../../src/check/oracle.js';
import { BASE, cached, goLazy, kernelMachine, processWith, resetMachineState, switchTo, write } from './kernel-machine.js';

afterEach(resetMachineState);

/** flush_tlb_func on k as if an IPI from CPU `from` asked for pages [start, end) at generation gen. */
function ipi(k: KernelCtx, from: number, mm: number, start: number, end: number, gen: number): void {
  const f = localIrqSave(k.smp);
  flushTlbFunc(k, flushInfo0(mm, from, FLUSH_GEN_VALID), start, end, gen);
  localIrqRestore(k.smp, f);
}

const localGen = (k: KernelCtx): number => k.cpuState[k.cpuAt + CPU_CTX_TLB_GEN + k.cpuState[k.cpuAt + CPU_LOADED_MM_ASID]!]!;
const fulls = (k: KernelCtx): number => k.counters[k.countersAt + C.flushesFull]!;

/** CPU 1 runs mm a with pages BASE .. BASE+3 cached; the mm is at generation 0. */
function running() {
  const m = kernelMachine(2);
  const k = m.cpu[1]!;
  const a = processWith(k, 4);
  switchTo(k, a);
  const pfns = [0, 1, 2, 3].map((i) => write(k, a, BASE + i, i + 1));
  return { ...m, k, a, pfns };
}

describe('flush_tlb_func', () => {
  it('never records a generation its flushes did not reach (ghost check), in order or out of order', () => {
    const { k, a, mem: m } = running();
    incMmTlbGen(k, a);
    incMmTlbGen(k, a);
    ipi(k, 0, a, BASE, BASE + 1, 2);
    ipi(k, 0, a, 0, FLUSH_ALL, 1);
    incMmTlbGen(k, a);
    ipi(k, 0, a, BASE + 1, BASE + 2, 3);
    expect(localGen(k)).toBe(3);
    expect(violationCount(m.views)).toBe(0);
  });

  it('does nothing for a request whose generation this CPU already reached', () => {
    const { k, a } = running();
    incMmTlbGen(k, a);
    ipi(k, 0, a, BASE, BASE + 1, 1);
    expect(localGen(k)).toBe(1);
    const before = fulls(k);
    ipi(k, 0, a, BASE, BASE + 4, 1);
    expect(fulls(k)).toBe(before);
  });

  it('flushes only the range when the request is the one generation this CPU is missing', () => {
    const { k, a, pfns } = running();
    incMmTlbGen(k, a);
    const before = fulls(k);
    ipi(k, 0, a, BASE, BASE + 1, 1);
    expect(fulls(k)).toBe(before);
    expect(cached(k, BASE)).toBe(-1);
    expect(cached(k, BASE + 1)).toBe(pfns[1]);
    expect(localGen(k)).toBe(1);
  });

  it('flushes everything when generations were skipped, and records the mm generation read before flushing', () => {
    const { k, a } = running();
    incMmTlbGen(k, a);
    incMmTlbGen(k, a);
    ipi(k, 0, a, BASE, BASE + 1, 1);
    expect(cached(k, BASE + 3)).toBe(-1);
    expect(localGen(k)).toBe(2);
  });

  it('requests out of order: a later partial flush arriving first still flushes everything', () => {
    const { k, a } = running();
    incMmTlbGen(k, a); // gen 1: everything (say a large munmap)
    incMmTlbGen(k, a); // gen 2: one page
    ipi(k, 0, a, BASE, BASE + 1, 2);
    expect(cached(k, BASE + 2)).toBe(-1);
    ipi(k, 0, a, 0, FLUSH_ALL, 1);
    expect(localGen(k)).toBe(2);
  });

  it('with partial-flush-out-of-order, the later request\'s partial flush claims the earlier full one was done', () => {
    const { k, a, pfns, mem: m } = running();
    injected[BUG['partial-flush-out-of-order']!] = 1;
    incMmTlbGen(k, a);
    incMmTlbGen(k, a);
    ipi(k, 0, a, BASE, BASE + 1, 2);
    ipi(k, 0, a, 0, FLUSH_ALL, 1);
    expect(localGen(k)).toBe(2);
    expect(cached(k, BASE + 2)).toBe(pfns[2]);
    // The ghost copy saw one partial flush of change 2 on a slot flushed up
    // to 0: generation 2 recorded, 0 really flushed, on the call itself.
    const v = firstViolation(m.views)!;
    expect([VIOLATION_NAMES[v.kind], v.cpu, v.pfn, v.fillGen, v.frameGen]).toEqual(['flush-gen-ahead', 1, a, 2, 0]);
  });

  it('a CPU running another mm leaves that mm\'s cpumask instead of flushing', () => {
    const { k, a } = running();
    const b = processWith(k, 1);
    switchTo(k, b);
    incMmTlbGen(k, a);
    ipi(k, 0, a, 0, FLUSH_ALL, 1);
    expect(cpumaskTestCpu(k.mm, a * MM_STRIDE + MM_CPUMASK, 1)).toBe(false);
  });

  it('a lazy CPU switches to init_mm', () => {
    const { k, a } = running();
    goLazy(k);
    incMmTlbGen(k, a);
    ipi(k, 0, a, 0, FLUSH_ALL, 1);
    expect(k.cpuState[k.cpuAt + CPU_LOADED_MM]).toBe(INIT_MM);
    expect(k.mmu.cr3Root).toBe(k.mm[INIT_MM * MM_STRIDE + MM_PGD]);
  });
});
