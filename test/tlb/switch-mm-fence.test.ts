// The store-buffering pair between switch_mm_irqs_off() and
// flush_tlb_mm_range() (arch/x86/mm/tlb.c; CVE-2025-40174), scripted on one
// thread: CPU 1 switches back to mm A, whose cpumask still has its bit, and
// CPU 0's flush of A lands after CPU 1 read A's tlb_gen but before CPU 1's
// CR3 write (the store buffer's serialize hook runs CPU 0 there). CPU 0
// bumps tlb_gen and asks should_flush_tlb() about CPU 1; CPU 1 has already
// read the old generation and keeps its slot for A unflushed. One of the two
// must see the other: here it has to be CPU 0 seeing SWITCHING.
import { afterEach, describe, expect, it } from 'vitest';
import { CPU_CTX_TLB_GEN, CPU_LOADED_MM_ASID, MM_CPUMASK, MM_STRIDE } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { FLUSH_GEN_VALID, flushInfo0, shouldFlushTlb } from '../../src/kernel/tlb/flush-func.js';
import { incMmTlbGen } from '../../src/kernel/tlb/flush-mm.js';
import { cpumaskClearCpu } from '../../src/sync/cpumask.js';
import { BASE, cached, kernelMachine, processWith, resetMachineState, switchTo, tlbGen, write } from './kernel-machine.js';

afterEach(resetMachineState);

function race(opts: { fence: boolean; bitAlreadySet: boolean }) {
  const { cpu } = kernelMachine(2);
  const k0 = cpu[0]!;
  const k1 = cpu[1]!;
  const a = processWith(k1, 2);
  const b = processWith(k1, 2);
  switchTo(k1, a);
  const pfn = write(k1, a, BASE, 1);
  switchTo(k1, b);
  // A flush IPI finding CPU 1 on another mm would have trimmed it from A's mask.
  if (!opts.bitAlreadySet) cpumaskClearCpu(k1.mm, a * MM_STRIDE + MM_CPUMASK, 1);
  if (!opts.fence) injected[BUG['switch-mm-no-fence']!] = 1;
  const sb = k1.mmu.storeBuffer;
  let flusherIpis: boolean | null = null;
  let bufferedAtCr3 = -1;
  sb.serializeHook = () => {
    sb.serializeHook = null;
    bufferedAtCr3 = sb.pending;
    // CPU 0 in flush_tlb_mm_range(A): the atomic bump, then the racy read.
    incMmTlbGen(k0, a);
    flusherIpis = shouldFlushTlb(1, flushInfo0(a, 0, FLUSH_GEN_VALID));
  };
  switchTo(k1, a);
  const asid = k1.cpuState[k1.cpuAt + CPU_LOADED_MM_ASID]!;
  return {
    flusherIpis, bufferedAtCr3, pfn,
    stillCached: cached(k1, BASE),
    slotGen: k1.cpuState[k1.cpuAt + CPU_CTX_TLB_GEN + asid]!,
    mmGen: tlbGen(k1, a),
    sb,
  };
}

describe('switch_mm_irqs_off vs flush_tlb_mm_range: the store-buffering pair', () => {
  it('with smp_mb() the flusher sees SWITCHING and IPIs the switching CPU', () => {
    const r = race({ fence: true, bitAlreadySet: true });
    expect(r.bufferedAtCr3).toBe(0);
    expect(r.flusherIpis).toBe(true);
  });

  it('without it SWITCHING is still buffered: the flusher skips the CPU, which keeps the page cached behind the generation (CVE-2025-40174)', () => {
    const r = race({ fence: false, bitAlreadySet: true });
    expect(r.bufferedAtCr3).toBeGreaterThan(0);
    expect(r.flusherIpis).toBe(false);
    expect(r.stillCached).toBe(r.pfn);
    expect(r.slotGen).toBeLessThan(r.mmGen);
    // Everything reached memory by the time the switch returned.
    expect(r.sb.pending).toBe(0);
  });

  it('when the CPU must set its cpumask bit, the atomic OR orders the pair even with the explicit fence gone', () => {
    const r = race({ fence: false, bitAlreadySet: false });
    expect(r.bufferedAtCr3).toBe(0);
    expect(r.flusherIpis).toBe(true);
  });

  it('with every fence in place no switch ever waits on the store-commit latency', () => {
    const { cpu } = kernelMachine(1);
    const k = cpu[0]!;
    k.mmu.storeBuffer.drainDelayNs = 1e9;
    const a = processWith(k, 1);
    const b = processWith(k, 1);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) switchTo(k, i % 2 === 0 ? a : b);
    expect(k.mmu.storeBuffer.delayedDrains).toBe(0);
    expect(k.mmu.storeBuffer.buffered).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
