import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { FAULT_SIGSEGV } from '../../src/kernel/mm/fault.js';
import { sysMadviseDontneed } from '../../src/kernel/mm/madvise.js';
import { sysMprotect } from '../../src/kernel/mm/mprotect.js';
import { sysMunmap } from '../../src/kernel/mm/munmap.js';
import { VM_READ } from '../../native-layout/bits.js';
import { BASE, cached, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

function mapped(pages: number) {
  const m = kernelMachine(2);
  const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
  const a = processWith(k0, pages);
  switchTo(k0, a);
  switchTo(k1, a);
  for (let i = 0; i < pages; i++) write(k0, a, BASE + i, i + 1);
  for (let i = 0; i < pages; i++) read(k1, a, BASE + i);
  return { ...m, k0, k1, a };
}

describe('user memory syscalls', () => {
  it('a first touch maps a zeroed page; madvise(DONTNEED) discards it everywhere, and the next touch sees zero', () => {
    const { k0, k1, a, mem } = mapped(4);
    expect(read(k1, a, BASE + 2) & 0xffff).toBe(3);
    expect(sysMadviseDontneed(k0, a, BASE, 4)).toBe(0);
    expect(cached(k1, BASE + 2)).toBe(-1);
    expect(read(k1, a, BASE + 2)).toBe(0);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('after munmap every CPU faults, the page tables are gone and no frame is lost', () => {
    const { k0, k1, a, mem } = mapped(4);
    const freedBefore = k0.counters[k0.countersAt + C.pageTablesFreed]!;
    expect(sysMunmap(k0, a, BASE, 4)).toBe(0);
    expect(read(k1, a, BASE + 1)).toBe(FAULT_SIGSEGV);
    expect(read(k0, a, BASE)).toBe(FAULT_SIGSEGV);
    expect(k0.counters[k0.countersAt + C.pageTablesFreed]! - freedBefore).toBeGreaterThanOrEqual(1);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('munmap of the middle of an area splits it; the rest stays mapped', () => {
    const { k0, k1, a } = mapped(8);
    expect(sysMunmap(k0, a, BASE + 2, 3)).toBe(0);
    expect(read(k1, a, BASE + 1) & 0xffff).toBe(2);
    expect(read(k1, a, BASE + 3)).toBe(FAULT_SIGSEGV);
    expect(read(k1, a, BASE + 6) & 0xffff).toBe(7);
  });

  it('mprotect(PROT_READ) flushes the writable entries other CPUs hold: their next write faults', () => {
    const { k0, k1, a } = mapped(2);
    write(k1, a, BASE, 9);
    expect(sysMprotect(k0, a, BASE, 2, VM_READ)).toBe(0);
    expect(write(k1, a, BASE, 10)).toBe(FAULT_SIGSEGV);
    expect(read(k1, a, BASE) & 0xffff).toBe(9);
  });
});
