import { afterEach, describe, expect, it } from 'vitest';
import { INIT_MM } from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import { CPU_IS_LAZY, CPU_LOADED_MM, MM_CPUMASK, MM_STRIDE } from '../../native-layout/fields.js';
import { cpumaskTestCpu } from '../../src/sync/cpumask.js';
import { incMmTlbGen } from '../../src/kernel/tlb/flush-mm.js';
import { BASE, cached, goLazy, kernelMachine, processWith, resetMachineState, switchTo, write } from './kernel-machine.js';

afterEach(resetMachineState);

const counter = (k: { counters: Float64Array; countersAt: number }, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;

describe('switch_mm_irqs_off', () => {
  it('returns to an mm whose generation is current with a NOFLUSH CR3 write, keeping its entries', () => {
    const { cpu } = kernelMachine(1);
    const k = cpu[0]!;
    const a = processWith(k, 2);
    const b = processWith(k, 2);
    switchTo(k, a);
    const pfn = write(k, a, BASE, 1);
    switchTo(k, b);
    const noflush = counter(k, 'cr3NoflushWrites');
    switchTo(k, a);
    expect(counter(k, 'cr3NoflushWrites')).toBe(noflush + 1);
    expect(cached(k, BASE)).toBe(pfn);
  });

  it('flushes the slot of an mm whose page tables changed while the CPU ran another one', () => {
    const { cpu } = kernelMachine(1);
    const k = cpu[0]!;
    const a = processWith(k, 2);
    const b = processWith(k, 2);
    switchTo(k, a);
    write(k, a, BASE, 1);
    switchTo(k, b);
    incMmTlbGen(k, a);
    const noflush = counter(k, 'cr3NoflushWrites');
    switchTo(k, a);
    expect(counter(k, 'cr3NoflushWrites')).toBe(noflush);
    expect(cached(k, BASE)).toBe(-1);
  });

  it('sets the CPU\'s own bit in the next mm\'s cpumask and leaves the previous mm\'s set (cleared lazily by a flush)', () => {
    const { cpu } = kernelMachine(2);
    const k = cpu[1]!;
    const a = processWith(k, 1);
    const b = processWith(k, 1);
    switchTo(k, a);
    switchTo(k, b);
    expect(cpumaskTestCpu(k.mm, a * MM_STRIDE + MM_CPUMASK, 1)).toBe(true);
    expect(cpumaskTestCpu(k.mm, b * MM_STRIDE + MM_CPUMASK, 1)).toBe(true);
    expect(cpumaskTestCpu(k.mm, b * MM_STRIDE + MM_CPUMASK, 0)).toBe(false);
    expect(cpumaskTestCpu(k.mm, INIT_MM * MM_STRIDE + MM_CPUMASK, 1)).toBe(false);
  });

  it('a thread switch within one mm writes no CR3', () => {
    const { cpu } = kernelMachine(1);
    const k = cpu[0]!;
    const a = processWith(k, 1);
    switchTo(k, a);
    const writes = counter(k, 'cr3Writes');
    switchTo(k, a);
    expect(counter(k, 'cr3Writes')).toBe(writes);
  });

  it('a lazy CPU coming back to the same mm flushes only if the generation moved meanwhile', () => {
    const { cpu } = kernelMachine(1);
    const k = cpu[0]!;
    const a = processWith(k, 2);
    switchTo(k, a);
    const pfn = write(k, a, BASE, 1);
    goLazy(k);
    expect(k.cpuState[k.cpuAt + CPU_IS_LAZY]).toBe(1);
    expect(k.cpuState[k.cpuAt + CPU_LOADED_MM]).toBe(a);
    switchTo(k, a);
    expect(k.cpuState[k.cpuAt + CPU_IS_LAZY]).toBe(0);
    expect(cached(k, BASE)).toBe(pfn);
    goLazy(k);
    incMmTlbGen(k, a);
    switchTo(k, a);
    expect(cached(k, BASE)).toBe(-1);
  });
});
