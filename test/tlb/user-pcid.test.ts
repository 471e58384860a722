// PTI's user PCID (src/kernel/tlb/user-pcid.ts): user-mode entries live
// under kPCID | bit 11, and a kernel-mode flush reaches them through the
// per-CPU mask at the next return to user mode.
import { afterEach, describe, expect, it } from 'vitest';
import { PTI_USER_PCID_BIT } from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import { CPU_USER_PCID_FLUSH_MASK } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { flushTlbPage } from '../../src/kernel/tlb/flush-mm.js';
import { setPtiUser, userPcid } from '../../src/kernel/tlb/user-pcid.js';
import { BASE, kernelMachine, processWith, read, resetMachineState, switchTo } from './kernel-machine.js';

afterEach(resetMachineState);

const onTlb = (k: KernelCtx, pcid: number): boolean => k.mmu.tlb.probePfn(BASE * 4096, pcid) >= 0;
const maskBit = (k: KernelCtx): number => {
  const p = k.mmu.cr3Pcid;
  return (k.cpuState[k.cpuAt + CPU_USER_PCID_FLUSH_MASK + (p >>> 5)]! >>> (p & 31)) & 1;
};

function twoCpus(): { k0: KernelCtx; k1: KernelCtx; mm: number } {
  const { cpu } = kernelMachine(2);
  for (const k of cpu) setPtiUser(k, true);
  const mm = processWith(cpu[0]!, 1);
  switchTo(cpu[0]!, mm);
  switchTo(cpu[1]!, mm);
  return { k0: cpu[0]!, k1: cpu[1]!, mm };
}

describe('the PTI user PCID', () => {
  it('tags user-mode entries with kPCID | bit 11, apart from the kernel PCID', () => {
    const { k1, mm } = twoCpus();
    read(k1, mm, BASE);
    expect(k1.mmu.userPcid).toBe(k1.mmu.cr3Pcid | PTI_USER_PCID_BIT);
    expect(userPcid(0)).toBe(1 | PTI_USER_PCID_BIT);
    expect(onTlb(k1, k1.mmu.userPcid)).toBe(true);
    expect(onTlb(k1, k1.mmu.cr3Pcid)).toBe(false);
  });

  it('a flush IPI marks the user PCID, and the next user access flushes it first', () => {
    const { k0, k1, mm } = twoCpus();
    read(k1, mm, BASE);
    const before = k1.counters[k1.countersAt + C.userPcidFlushes]!;
    flushTlbPage(k0, mm, BASE);
    expect(maskBit(k1)).toBe(1);
    expect(onTlb(k1, k1.mmu.userPcid)).toBe(true);
    read(k1, mm, BASE + 1);
    expect(maskBit(k1)).toBe(0);
    expect(k1.counters[k1.countersAt + C.userPcidFlushes]).toBe(before + 1);
    expect(onTlb(k1, k1.mmu.userPcid)).toBe(false);
  });

  it('with pti-no-user-pcid-flush the mark is never set and the user entry outlives the flush', () => {
    const { k0, k1, mm } = twoCpus();
    injected[BUG['pti-no-user-pcid-flush']!] = 1;
    read(k1, mm, BASE);
    flushTlbPage(k0, mm, BASE);
    expect(maskBit(k1)).toBe(0);
    read(k1, mm, BASE + 1);
    expect(onTlb(k1, k1.mmu.userPcid)).toBe(true);
  });
});
