import { afterEach, describe, expect, it } from 'vitest';
import { INIT_MM, PTE_G, PTE_RW } from '../../native-layout/bits.js';
import { mmPgd } from '../../src/kernel/mm/mm.js';
import { mapPte, unmapLeaf } from '../../src/kernel/mm/pgtable.js';
import { C } from '../../native-layout/counters.js';
import { flushTlbAll, flushTlbKernelRange } from '../../src/kernel/tlb/flush-kernel.js';
import { ipisSent } from '../../src/kernel/tlb/flush-mm.js';
import { goLazy, kernelMachine, processWith, resetMachineState, switchTo } from './kernel-machine.js';

afterEach(resetMachineState);

/** A kernel-half address mapped with a global entry in init_mm, cached by every CPU. */
const KVA = 0x888000000000;

function kernelPageEverywhere() {
  const m = kernelMachine(3);
  const k0 = m.cpu[0]!;
  const pfn = k0.alloc.allocPages(0, 0, 0);
  expect(mapPte(k0.env, 0, mmPgd(k0, INIT_MM), KVA, pfn, PTE_RW | PTE_G)).toBe(0);
  for (const k of m.cpu) expect(k.mmu.access(KVA, false, false)).toBe(pfn);
  return { ...m, k0, pfn };
}

describe('kernel-address flushes', () => {
  it('flush_tlb_kernel_range reaches every CPU, lazy ones included, and drops the global entry', () => {
    const { cpu, k0 } = kernelPageEverywhere();
    // CPU 2 runs a kernel thread on a user mm: lazy, but it still maps the kernel.
    const a = processWith(k0, 1);
    switchTo(cpu[2]!, a);
    goLazy(cpu[2]!);
    unmapLeaf(k0.env, mmPgd(k0, INIT_MM), KVA);
    flushTlbKernelRange(k0, KVA, KVA + 4096);
    // Global entries match any PCID: probe under each CPU's current one.
    for (const k of cpu) expect(k.mmu.tlb.probePfn(KVA, k.mmu.cr3Pcid)).toBe(-1);
  });

  it('flush_tlb_all drops everything on every CPU, globals included', () => {
    const { cpu, k0 } = kernelPageEverywhere();
    flushTlbAll(k0);
    for (const k of cpu) expect(k.mmu.tlb.countValid()).toBe(0);
  });

  it('under --variant invlpgb, one broadcast reaches every CPU with no IPI, every PCID included (PTI copies)', () => {
    const m = kernelMachine(3);
    const k0 = m.cpu[0]!;
    const pfn = k0.alloc.allocPages(0, 0, 0);
    // Non-global, as under PTI: each PCID caches its own copy.
    expect(mapPte(k0.env, 0, mmPgd(k0, INIT_MM), KVA, pfn, PTE_RW)).toBe(0);
    const a = processWith(k0, 1);
    const pcids: number[][] = [];
    for (const k of m.cpu) {
      k.invlpgb = true;
      expect(k.mmu.access(KVA, false, false)).toBe(pfn);
      const first = k.mmu.cr3Pcid;
      switchTo(k, a);
      expect(k.mmu.access(KVA, false, false)).toBe(pfn);
      pcids.push([first, k.mmu.cr3Pcid]);
    }
    expect(pcids[1]![0]).not.toBe(pcids[1]![1]);
    unmapLeaf(k0.env, mmPgd(k0, INIT_MM), KVA);
    flushTlbKernelRange(k0, KVA, KVA + 4096);
    expect(ipisSent(k0)).toBe(0);
    expect(k0.counters[k0.countersAt + C.invlpgb]).toBe(1);
    m.cpu.forEach((k, i) => {
      for (const pcid of pcids[i]!) expect(k.mmu.tlb.probePfn(KVA, pcid)).toBe(-1);
    });
  });

  it('under --variant invlpgb, a range above the ceiling drops everything, globals included', () => {
    const { cpu, k0 } = kernelPageEverywhere();
    for (const k of cpu) k.invlpgb = true;
    flushTlbKernelRange(k0, KVA, KVA + 64 * 4096);
    expect(ipisSent(k0)).toBe(0);
    for (const k of cpu) expect(k.mmu.tlb.countValid()).toBe(0);
  });
});
