// mshare (issue 8, src/kernel/mshare): page tables shared at the PUD level
// by client mms, flushed on every client CPU before a frame is freed, by
// each strategy; and the injected bugs, each seen doing its damage.
import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { MM_CPUMASK, MM_STRIDE } from '../../native-layout/fields.js';
import { VM_READ, VM_WRITE } from '../../native-layout/bits.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { V_STALE_TLB, firstViolation, violationCount } from '../../src/check/oracle.js';
import { contentWord, frameState } from '../../src/hw/frames.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { FAULT_SIGSEGV } from '../../src/kernel/mm/fault.js';
import { mmAlloc } from '../../src/kernel/mm/mm.js';
import { iommuSvaInitThread } from '../../src/kernel/mmu_notifier/iommu-sva.js';
import { mmuNotifierReset } from '../../src/kernel/mmu_notifier/notifier.js';
import { mshareProtect, mshareZapRange } from '../../src/kernel/mshare/change.js';
import { MSHARE_STRATEGY_NAMES, mshareInitThread } from '../../src/kernel/mshare/flush.js';
import { mshareAttach, mshareCreate, mshareMapHost, mshareReset } from '../../src/kernel/mshare/region.js';
import { iommuReset } from '../../src/hw/iommu.js';
import { MSHARE_BASE_VPN } from '../../src/workloads/mm/mshare.js';
import { FS_ALLOCATED } from '../../native-layout/bits.js';
import { cached, kernelMachine, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const R = 0;
const PAGES = 64;
const V = MSHARE_BASE_VPN + 5;

const count = (k: KernelCtx, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;

/** 4 CPUs, a region of PAGES pages in two host areas, clients A and B attached. */
function setup(strategy: (typeof MSHARE_STRATEGY_NAMES)[number]) {
  const m = kernelMachine(4);
  const k = m.cpu[0]!;
  mshareReset(k);
  mmuNotifierReset(k);
  iommuReset(k.views);
  mshareInitThread();
  iommuSvaInitThread();
  const host = mshareCreate(k, R, MSHARE_BASE_VPN, PAGES, MSHARE_STRATEGY_NAMES.indexOf(strategy));
  expect(mshareMapHost(k, R, MSHARE_BASE_VPN, PAGES / 2, VM_READ | VM_WRITE)).toBe(0);
  expect(mshareMapHost(k, R, MSHARE_BASE_VPN + PAGES / 2, PAGES / 2, VM_READ | VM_WRITE)).toBe(0);
  const a = mmAlloc(k);
  const b = mmAlloc(k);
  expect(mshareAttach(k, R, a)).toBe(0);
  expect(mshareAttach(k, R, b)).toBe(0);
  return { m, cpu: m.cpu, host, a, b };
}

describe('mshare page tables', () => {
  it('a page one client faults in is the page every client sees, and the host mm is in nobody\'s cpumask', () => {
    const { cpu, host, a, b } = setup('flush-all');
    switchTo(cpu[0]!, a);
    switchTo(cpu[1]!, b);
    const pfn = write(cpu[0]!, a, V, 77);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(read(cpu[1]!, b, V)).toBe(contentWord(1, 77));
    expect(cached(cpu[1]!, V)).toBe(pfn);
    expect(cpu[0]!.mm[host * MM_STRIDE + MM_CPUMASK]).toBe(0);
    expect(cpu[0]!.mm[host * MM_STRIDE + MM_CPUMASK + 1]).toBe(0);
    expect(violationCount(cpu[0]!.views)).toBe(0);
  });

  it.each(MSHARE_STRATEGY_NAMES)('with strategy %s a discard reaches every client CPU, and an unloaded client catches up, before the frame is freed', (strategy) => {
    const { cpu, a, b } = setup(strategy);
    const [k0, k1, k2, k3] = cpu as [KernelCtx, KernelCtx, KernelCtx, KernelCtx];
    switchTo(k2, a);
    const pfn = write(k2, a, V, 9);
    switchTo(k2, b); // k2 keeps A's PCID with V cached
    expect(read(k2, b, V)).toBe(contentWord(1, 9));
    switchTo(k0, a);
    switchTo(k1, b);
    read(k0, a, V);
    read(k1, b, V);
    expect(cached(k0, V)).toBe(pfn);
    expect(cached(k1, V)).toBe(pfn);
    expect(mshareZapRange(k3, R, V, 1)).toBe(1);
    expect(frameState(k0.frame, pfn)).not.toBe(FS_ALLOCATED);
    expect(cached(k0, V)).toBe(-1);
    expect(cached(k1, V)).toBe(-1);
    expect(cached(k2, V)).toBe(-1);
    switchTo(k2, a);
    expect(cached(k2, V)).toBe(-1);
    expect(read(k2, a, V)).toBe(0);
    expect(violationCount(k0.views)).toBe(0);
    if (strategy === 'flush-all') expect(count(k3, 'mshareCpusInterrupted')).toBe(3);
    expect(count(k3, 'mshareFlushes')).toBe(1);
  });

  it.each([['flush-all', 3], ['union', 2], ['per-client', 2]] as const)('strategy %s interrupts %i CPUs when two run clients and one runs another process', (strategy, cpus) => {
    const { cpu, a, b } = setup(strategy);
    const [k0, k1, k2, k3] = cpu as [KernelCtx, KernelCtx, KernelCtx, KernelCtx];
    const other = mmAlloc(k0);
    switchTo(k0, a);
    switchTo(k1, b);
    switchTo(k2, other);
    write(k0, a, V, 1);
    read(k1, b, V);
    mshareZapRange(k3, R, V, 1);
    expect(count(k3, 'mshareCpusInterrupted')).toBe(cpus);
    expect(count(k3, 'ipisSent')).toBe(cpus);
    expect(violationCount(k0.views)).toBe(0);
  });

  it('taking write away flushes the writable entries of every client CPU', () => {
    const { cpu, a, b } = setup('union');
    const [k0, k1] = cpu as [KernelCtx, KernelCtx];
    switchTo(k0, a);
    switchTo(k1, b);
    expect(write(k1, b, V, 3)).toBeGreaterThanOrEqual(0);
    expect(mshareProtect(k0, R, MSHARE_BASE_VPN, PAGES / 2, VM_READ)).toBe(0);
    expect(write(k1, b, V, 4)).toBe(FAULT_SIGSEGV);
    expect(read(k1, b, V)).toBe(contentWord(1, 3));
    expect(mshareProtect(k0, R, MSHARE_BASE_VPN, PAGES / 2, VM_READ | VM_WRITE)).toBe(0);
    expect(write(k1, b, V, 5)).toBeGreaterThanOrEqual(0);
    // Not made of whole host areas: refused.
    expect(mshareProtect(k0, R, MSHARE_BASE_VPN + 1, 4, VM_READ)).toBeLessThan(0);
  });
});

describe('mshare injected bugs', () => {
  it('mshare-host-cpumask-only: the host\'s flush reaches nobody, and a client CPU reads the freed frame', () => {
    const { cpu, a } = setup('flush-all');
    const [k0, , , k3] = cpu as [KernelCtx, KernelCtx, KernelCtx, KernelCtx];
    injected[BUG['mshare-host-cpumask-only']!] = 1;
    switchTo(k0, a);
    const pfn = write(k0, a, V, 1);
    mshareZapRange(k3, R, V, 1);
    expect(cached(k0, V)).toBe(pfn);
    read(k0, a, V);
    expect(firstViolation(k0.views)?.kind).toBe(V_STALE_TLB);
    expect(count(k3, 'mshareCpusInterrupted')).toBe(0);
  });

  it('mshare-no-tlbgen-bump: under the union strategy a client that was not loaded keeps its stale PCID', () => {
    const { cpu, a, b } = setup('union');
    const [k0, , k2, k3] = cpu as [KernelCtx, KernelCtx, KernelCtx, KernelCtx];
    injected[BUG['mshare-no-tlbgen-bump']!] = 1;
    switchTo(k2, a);
    write(k2, a, V, 1);
    switchTo(k2, b);
    mshareZapRange(k3, R, V, 1);
    switchTo(k2, a);
    read(k2, a, V);
    expect(firstViolation(k0.views)?.kindName).toMatch(/stale-tlb|stale-at-flush/);
  });

  it('mshare-free-before-flush: the frame is free while a client CPU still caches it', () => {
    const { cpu, a } = setup('per-client');
    const [k0, , , k3] = cpu as [KernelCtx, KernelCtx, KernelCtx, KernelCtx];
    injected[BUG['mshare-free-before-flush']!] = 1;
    switchTo(k0, a);
    write(k0, a, V, 1);
    mshareZapRange(k3, R, V, 1);
    // The flush IPI found the entry pointing at a free frame (flush-audit.ts).
    expect(firstViolation(k0.views)?.kindName).toBe('stale-at-flush');
  });
});
