import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { FLUSH_ALL } from '../../src/kernel/tlb/flush-func.js';
import { PAGE_SHIFT_4K, flushTlbMmRange, ipisSent } from '../../src/kernel/tlb/flush-mm.js';
import { loadEngine } from '../engine/helpers.js';
import { applyFlushPolicy } from '../../src/kernel/design/apply.js';
import { FLUSH_INVLPGB } from '../../src/kernel/design/builtins.js';
import { BASE, cached, kernelMachine, processWith, read, resetMachineState, switchTo, write } from './kernel-machine.js';

afterEach(resetMachineState);

const VPN = BASE;

/** 4 CPUs run one mm and cache its first two pages; the INVLPGB variant is on. */
function sharedMm() {
  const m = kernelMachine(4);
  const k0 = m.cpu[0]!;
  const a = processWith(k0, 2);
  switchTo(k0, a);
  expect(write(k0, a, VPN, 1)).toBeGreaterThanOrEqual(0);
  expect(write(k0, a, VPN + 1, 2)).toBeGreaterThanOrEqual(0);
  for (const k of m.cpu) {
    // The INVLPGB flush policy (src/kernel/design/builtins.ts), as applyVariant sets it.
    applyFlushPolicy(k, FLUSH_INVLPGB);
    switchTo(k, a);
    expect(read(k, a, VPN)).toBeGreaterThanOrEqual(0);
    expect(read(k, a, VPN + 1)).toBeGreaterThanOrEqual(0);
    expect(cached(k, VPN)).toBeGreaterThanOrEqual(0);
  }
  return { ...m, k0, a };
}

describe('flush_tlb_mm_range under the INVLPGB variant', () => {
  it('broadcasts instead of sending IPIs, and returns only once every CPU dropped the range', () => {
    const { cpu, k0, a } = sharedMm();
    flushTlbMmRange(k0, a, VPN, VPN + 1, PAGE_SHIFT_4K, false);
    expect(ipisSent(k0)).toBe(0);
    expect(k0.counters[k0.countersAt + C.invlpgb]).toBe(1);
    for (const k of cpu) {
      expect(cached(k, VPN)).toBe(-1);
      expect(cached(k, VPN + 1)).toBeGreaterThanOrEqual(0);
    }
  });

  it('reaches a CPU that runs another mm but still holds an ASID slot for this one', () => {
    const { cpu, k0, a } = sharedMm();
    const b = processWith(k0, 1, BASE + 512);
    const k3 = cpu[3]!;
    const pcidA = k3.mmu.cr3Pcid;
    switchTo(k3, b);
    expect(k3.mmu.tlb.probePfn(VPN * 4096, pcidA)).toBeGreaterThanOrEqual(0);
    flushTlbMmRange(k0, a, 0, FLUSH_ALL, PAGE_SHIFT_4K, true);
    // CPU 3 is out of a's cpumask view of "running", but its slot for a
    // still tags PCID pcidA: the broadcast dropped a's entries there.
    expect(k3.mmu.tlb.probePfn(VPN * 4096, pcidA)).toBe(-1);
    expect(k3.mmu.tlb.probePfn((VPN + 1) * 4096, pcidA)).toBe(-1);
  });

  it('with invlpgb-tlbsync-migrated, returns while remote TLBs still hold the entries', () => {
    const { cpu, k0, a } = sharedMm();
    injected[BUG['invlpgb-tlbsync-migrated']!] = 1;
    flushTlbMmRange(k0, a, VPN, VPN + 1, PAGE_SHIFT_4K, false);
    expect(cached(cpu[1]!, VPN)).toBeGreaterThanOrEqual(0);
  });
});

describe('tlb-flush2 with --variant invlpgb on 4 CPUs', () => {
  it('runs clean with broadcasts and far fewer IPIs than the ipi variant', async () => {
    const { runFree } = await loadEngine();
    const inv = await runFree({ scenario: 'tlb-flush2', cpus: 4, seconds: 1, seed: 1, options: { variant: 'invlpgb' } });
    const ipi = await runFree({ scenario: 'tlb-flush2', cpus: 4, seconds: 1, seed: 1 });
    expect(inv.stoppedBy).toBe('time');
    expect(inv.violations).toBe(0);
    expect(inv.violationRecords).toEqual([]);
    expect(inv.endCheck).toEqual({ violations: [], framesLost: 0 });
    expect(inv.framesLost).toBe(0);
    expect(inv.totals.invlpgb).toBeGreaterThan(20);
    expect(ipi.totals.invlpgb).toBe(0);
    const rate = (r: typeof inv) => r.totals.ipisSent / Math.max(1, r.totals.ops);
    expect(rate(inv)).toBeLessThan(rate(ipi) / 4);
  });
});
