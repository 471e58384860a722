// A secondary MMU (src/hw/iommu.ts) bound with SVA to a client of an mshare
// region (src/kernel/mmu_notifier): it walks the client's tables (so the
// host's), caches in its own IOTLB, and is invalidated only through the
// client's notifiers, which the host's notifier fires (the fix of the
// review finding); skip that (mshare-client-notifier-skipped) and the
// device reads a freed frame.
import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { VM_READ, VM_WRITE } from '../../native-layout/bits.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { firstViolation, violationCount } from '../../src/check/oracle.js';
import { contentWord } from '../../src/hw/frames.js';
import { iommuReset, iommuStaleEntries, iommuTranslate } from '../../src/hw/iommu.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { mmAlloc } from '../../src/kernel/mm/mm.js';
import { iommuSvaBindDevice, iommuSvaInitThread, iommuSvaRead } from '../../src/kernel/mmu_notifier/iommu-sva.js';
import { mmuNotifierReset } from '../../src/kernel/mmu_notifier/notifier.js';
import { mshareZapRange } from '../../src/kernel/mshare/change.js';
import { mshareInitThread } from '../../src/kernel/mshare/flush.js';
import { mshareAttach, mshareCreate, mshareMapHost, mshareReset } from '../../src/kernel/mshare/region.js';
import { MSHARE_BASE_VPN } from '../../src/workloads/mm/mshare.js';
import { kernelMachine, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const PAGE = 4096;
const V = MSHARE_BASE_VPN + 3;
const count = (k: KernelCtx, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;

function setup() {
  const m = kernelMachine(2);
  const k = m.cpu[0]!;
  mshareReset(k);
  mmuNotifierReset(k);
  iommuReset(k.views);
  mshareInitThread();
  iommuSvaInitThread();
  mshareCreate(k, 0, MSHARE_BASE_VPN, 32, 0);
  expect(mshareMapHost(k, 0, MSHARE_BASE_VPN, 32, VM_READ | VM_WRITE)).toBe(0);
  const a = mmAlloc(k);
  const b = mmAlloc(k);
  expect(mshareAttach(k, 0, a)).toBe(0);
  expect(mshareAttach(k, 0, b)).toBe(0);
  iommuSvaBindDevice(k, 0, b);
  return { k0: m.cpu[0]!, k1: m.cpu[1]!, a, b };
}

describe('IOMMU-like device bound to an mshare client', () => {
  it('translates through the shared tables, hits its IOTLB after, and a page request faults the page in', () => {
    const { k0, k1, a, b } = setup();
    switchTo(k0, a);
    const pfn = write(k0, a, V, 42);
    expect(iommuSvaRead(k1, 0, b, V * PAGE, -1, 0)).toBe(contentWord(1, 42));
    // Second access: an IOTLB hit, no walk needed even with the PTE gone
    // (which is why invalidation matters).
    expect(iommuTranslate(k1.views, 0, V * PAGE, false, 1, -1, 0)).toBe(pfn);
    // A page nobody touched: the device's page request faults it in (zero).
    expect(iommuSvaRead(k1, 0, b, (V + 1) * PAGE, -1, 0)).toBe(0);
    expect(violationCount(k0.views)).toBe(0);
  });

  it('a host discard invalidates the IOTLB through the client\'s notifier before the frame is freed', () => {
    const { k0, k1, a, b } = setup();
    switchTo(k0, a);
    write(k0, a, V, 42);
    iommuSvaRead(k1, 0, b, V * PAGE, -1, 0);
    const calls = count(k0, 'notifierCalls');
    mshareZapRange(k0, 0, V, 1);
    // Host: start, secondary TLBs, end; the bound client: the same three.
    expect(count(k0, 'notifierCalls') - calls).toBe(6);
    expect(count(k0, 'iotlbInvalidations')).toBe(2);
    expect(iommuStaleEntries(k0.views, 0)).toEqual([]);
    expect(iommuSvaRead(k1, 0, b, V * PAGE, -1, 0)).toBe(0);
    expect(violationCount(k0.views)).toBe(0);
  });

  it('mshare-client-notifier-skipped: the device goes on translating to the freed frame (stale-iotlb)', () => {
    const { k0, k1, a, b } = setup();
    injected[BUG['mshare-client-notifier-skipped']!] = 1;
    switchTo(k0, a);
    const pfn = write(k0, a, V, 42);
    iommuSvaRead(k1, 0, b, V * PAGE, -1, 0);
    mshareZapRange(k0, 0, V, 1);
    expect(count(k0, 'iotlbInvalidations')).toBe(0);
    expect(iommuStaleEntries(k0.views, 0)).toEqual([V]);
    iommuSvaRead(k1, 0, b, V * PAGE, -1, 0);
    const v = firstViolation(k0.views);
    expect(v?.kindName).toBe('stale-iotlb');
    expect(v?.pfn).toBe(pfn);
  });
});
