// Global ASIDs (src/kernel/tlb/global-asid.ts): the shared allocator, the
// switch into a global ASID, the transition and the broadcast by PCID.
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_ASID_AVAILABLE, TLB_NR_DYN_ASIDS } from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import { CPU_LOADED_MM_ASID, KERNEL_GLOBAL_ASID_AVAILABLE, KERNEL_LAST_GLOBAL_ASID, MM_ASID_TRANSITION, MM_STRIDE } from '../../native-layout/fields.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { flushTlbPage } from '../../src/kernel/tlb/flush-mm.js';
import {
  GLOBAL_ASIDS, allocateGlobalAsid, destroyContextFreeGlobalAsid, mmGlobalAsid, useGlobalAsid,
} from '../../src/kernel/tlb/global-asid.js';
import { BASE, kernelMachine, processWith, read, resetMachineState, switchTo } from './kernel-machine.js';

afterEach(resetMachineState);

function machine(cpus: number): KernelCtx[] {
  const { cpu } = kernelMachine(cpus, { maxMms: 16 });
  for (const k of cpu) k.globalAsids = true;
  return [...cpu];
}

const count = (k: KernelCtx, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;
const onTlb = (k: KernelCtx, vpn: number, pcid: number): boolean => k.mmu.tlb.probePfn(vpn * 4096, pcid) >= 0;

describe('the global ASID allocator', () => {
  it('hands out ASIDs past the dynamic ones, the first after resetting (and flushing) the space', () => {
    const [k] = machine(1);
    const a = processWith(k!, 1);
    const b = processWith(k!, 1);
    useGlobalAsid(k!, a);
    useGlobalAsid(k!, b);
    expect(mmGlobalAsid(k!, a)).toBe(TLB_NR_DYN_ASIDS);
    expect(mmGlobalAsid(k!, b)).toBe(TLB_NR_DYN_ASIDS + 1);
    expect(count(k!, 'globalAsidResets')).toBe(1);
    expect(k!.kernel[KERNEL_GLOBAL_ASID_AVAILABLE]).toBe(GLOBAL_ASIDS - 2);
    // A second request of the same mm changes nothing.
    useGlobalAsid(k!, a);
    expect(mmGlobalAsid(k!, a)).toBe(TLB_NR_DYN_ASIDS);
    expect(k!.mm[a * MM_STRIDE + MM_ASID_TRANSITION]).toBe(1);
  });

  it('reuses a freed ASID only after the search reaches the end and the reset flush ran', () => {
    const [k] = machine(1);
    const a = processWith(k!, 1);
    useGlobalAsid(k!, a);
    const freed = mmGlobalAsid(k!, a);
    destroyContextFreeGlobalAsid(k!, a);
    expect(mmGlobalAsid(k!, a)).toBe(0);
    expect(k!.kernel[KERNEL_GLOBAL_ASID_AVAILABLE]).toBe(GLOBAL_ASIDS);
    // Not before the wrap: the next ones come after it.
    const next = allocateGlobalAsid(k!);
    expect(next).toBe(freed + 1);
    expect(count(k!, 'globalAsidResets')).toBe(1);
    // At the end of the space: reset (one more flush), then the freed one again.
    k!.kernel[KERNEL_LAST_GLOBAL_ASID] = MAX_ASID_AVAILABLE - 1;
    expect(allocateGlobalAsid(k!)).toBe(freed);
    expect(count(k!, 'globalAsidResets')).toBe(2);
  });

  it('the reset drops every CPU\'s non-global entries, so a reused PCID starts empty', () => {
    const [k0, k1] = machine(2);
    const a = processWith(k0!, 1);
    useGlobalAsid(k0!, a);
    const pcid = mmGlobalAsid(k0!, a) + 1;
    switchTo(k1!, a);
    expect(read(k1!, a, BASE)).toBeGreaterThanOrEqual(0);
    expect(onTlb(k1!, BASE, pcid)).toBe(true);
    k0!.kernel[KERNEL_LAST_GLOBAL_ASID] = MAX_ASID_AVAILABLE - 1;
    allocateGlobalAsid(k0!);
    k1!.mmu.applyInvlpgb();
    expect(onTlb(k1!, BASE, pcid)).toBe(false);
  });
});

describe('switch_mm and flushes with a global ASID', () => {
  it('switch_mm loads the global PCID without a flush, and keeps it current across generations', () => {
    const [k0, k1] = machine(2);
    const a = processWith(k0!, 1);
    const b = processWith(k0!, 1);
    useGlobalAsid(k0!, a);
    const g = mmGlobalAsid(k0!, a);
    const noflush = count(k1!, 'cr3NoflushWrites');
    switchTo(k1!, a);
    expect(k1!.cpuState[k1!.cpuAt + CPU_LOADED_MM_ASID]).toBe(g);
    expect(k1!.mmu.cr3Pcid).toBe(g + 1);
    expect(count(k1!, 'cr3NoflushWrites')).toBe(noflush + 1);
    read(k1!, a, BASE);
    switchTo(k1!, b);
    // A flush of a while k1 runs b reaches the global PCID by INVLPGB.
    flushTlbPage(k0!, a, BASE);
    k1!.mmu.applyInvlpgb();
    expect(onTlb(k1!, BASE, g + 1)).toBe(false);
    switchTo(k1!, a);
    expect(count(k1!, 'cr3NoflushWrites')).toBe(noflush + 2);
  });

  it('during the transition a flush also IPIs CPUs still on a dynamic ASID, which move to the global one; then broadcasts alone', () => {
    const [k0, k1] = machine(2);
    const a = processWith(k0!, 1);
    switchTo(k1!, a);
    const dyn = k1!.cpuState[k1!.cpuAt + CPU_LOADED_MM_ASID]!;
    expect(dyn).toBeLessThan(TLB_NR_DYN_ASIDS);
    useGlobalAsid(k0!, a);
    const g = mmGlobalAsid(k0!, a);
    const ipis = count(k0!, 'ipisSent');
    flushTlbPage(k0!, a, BASE);
    expect(count(k0!, 'ipisSent')).toBeGreaterThan(ipis);
    expect(k1!.cpuState[k1!.cpuAt + CPU_LOADED_MM_ASID]).toBe(g);
    // The next flush finds every CPU on the global ASID: transition over, no IPI.
    flushTlbPage(k0!, a, BASE);
    expect(k0!.mm[a * MM_STRIDE + MM_ASID_TRANSITION]).toBe(0);
    const after = count(k0!, 'ipisSent');
    flushTlbPage(k0!, a, BASE);
    expect(count(k0!, 'ipisSent')).toBe(after);
  });
});
