import { afterEach, describe, expect, it } from 'vitest';
import { firstViolation, resetOracle, violationCount } from '../../src/check/oracle.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { localIrqRestore, localIrqSave } from '../../src/kernel/smp.js';
import { FLUSH_ALL, FLUSH_GEN_VALID, flushInfo0, flushTlbFunc } from '../../src/kernel/tlb/flush-func.js';
import { incMmTlbGen } from '../../src/kernel/tlb/flush-mm.js';
import { BASE, cached, goLazy, kernelMachine, processWith, resetMachineState, switchTo, write } from './kernel-machine.js';

afterEach(resetMachineState);

function ipi(k: KernelCtx, mm: number, start: number, end: number, gen: number): void {
  const f = localIrqSave(k.smp);
  flushTlbFunc(k, flushInfo0(mm, 0, FLUSH_GEN_VALID), start, end, gen);
  localIrqRestore(k.smp, f);
}

/** CPU 1 runs mm a with pages BASE .. BASE+3 cached. */
function running() {
  const m = kernelMachine(2);
  const k = m.cpu[1]!;
  const a = processWith(k, 4);
  switchTo(k, a);
  const pfns = [0, 1, 2, 3].map((i) => write(k, a, BASE + i, i + 1));
  resetOracle(k.views);
  return { ...m, k, a, pfns };
}

describe('the flush-time audit (a running CPU caches no freed frame when a flush reaches it)', () => {
  it('stays quiet when the initiator has not freed anything yet', () => {
    const { k, a } = running();
    incMmTlbGen(k, a);
    ipi(k, a, BASE, BASE + 1, 1);
    expect(violationCount(k.views)).toBe(0);
    expect(cached(k, BASE)).toBe(-1);
  });

  it('reports a page freed before this CPU flushed it (an early ack), with its pfn and address', () => {
    const { k, a, pfns } = running();
    incMmTlbGen(k, a);
    k.alloc.freePages(0, pfns[2]!, 0);
    ipi(k, a, BASE + 2, BASE + 3, 1);
    expect(violationCount(k.views)).toBe(1);
    const v = firstViolation(k.views)!;
    expect(v.kindName).toBe('stale-at-flush');
    expect(v.pfn).toBe(pfns[2]);
    expect(v.va).toBe((BASE + 2) * 4096);
    expect(v.cpu).toBe(1);
  });

  it('scans the whole address space on a full flush', () => {
    const { k, a, pfns } = running();
    incMmTlbGen(k, a);
    k.alloc.freePages(0, pfns[3]!, 0);
    ipi(k, a, 0, FLUSH_ALL, 1);
    expect(firstViolation(k.views)?.pfn).toBe(pfns[3]);
  });

  it('excepts a lazy CPU: it is behind by generation and catches up before touching user memory', () => {
    const { k, a, pfns } = running();
    goLazy(k);
    incMmTlbGen(k, a);
    k.alloc.freePages(0, pfns[1]!, 0);
    ipi(k, a, BASE + 1, BASE + 2, 1);
    expect(violationCount(k.views)).toBe(0);
  });
});
