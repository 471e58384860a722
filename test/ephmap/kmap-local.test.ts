import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { readFrame, writeFrame } from '../../src/hw/frames.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { KmapError, kmapLocalPage, kmapLocalSchedIn, kmapLocalSchedOut, kmapSlotVa, kunmapLocal } from '../../src/kernel/ephmap/kmap-local.js';
import { fixmapInit } from '../../src/kernel/mm/fixmap.js';
import { GFP_KERNEL } from '../../src/kernel/page_alloc/gfp.js';
import { kernelMachine, resetMachineState } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const count = (k: KernelCtx, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;

function setup(): { k: KernelCtx; f: number[] } {
  const m = kernelMachine(2);
  const k = m.cpu[0]!;
  fixmapInit(k);
  const f: number[] = [];
  for (let i = 0; i < 3; i++) {
    const pfn = k.alloc.allocPages(0, 0, GFP_KERNEL);
    writeFrame(k.frame, pfn, 5, 300 + i);
    f.push(pfn);
  }
  return { k, f };
}

describe('kmap_local', () => {
  it('maps LIFO at per-CPU slots and flushes the slot locally on unmap', () => {
    const { k, f } = setup();
    const a = kmapLocalPage(k, 1, f[0]!);
    const b = kmapLocalPage(k, 1, f[1]!);
    expect(a).toBe(kmapSlotVa(0, 0));
    expect(b).toBe(kmapSlotVa(0, 1));
    expect(k.mmu.read(a)).toBe(readFrame(k.frame, f[0]!));
    expect(k.mmu.read(b)).toBe(readFrame(k.frame, f[1]!));
    expect(() => kunmapLocal(k, 1, a)).toThrow(KmapError);
    const inv = count(k, 'invlpg');
    kunmapLocal(k, 1, b);
    kunmapLocal(k, 1, a);
    expect(count(k, 'invlpg')).toBe(inv + 2);
    expect(k.mmu.tlb.probePfn(a, k.mmu.cr3Pcid)).toBe(-1);
    expect(count(k, 'ipisSent')).toBe(0);
  });

  it('clears a preempted holder\'s slots at sched-out and restores them at sched-in', () => {
    const { k, f } = setup();
    const a = kmapLocalPage(k, 1, f[0]!);
    k.mmu.read(a);
    kmapLocalSchedOut(k, 1);
    // Another task of this CPU takes the same slot for another page.
    const other = kmapLocalPage(k, 2, f[2]!);
    expect(other).toBe(a);
    expect(k.mmu.read(other)).toBe(readFrame(k.frame, f[2]!));
    kmapLocalSchedOut(k, 2);
    kmapLocalSchedIn(k, 1);
    expect(k.mmu.read(a)).toBe(readFrame(k.frame, f[0]!));
  });

  it('kmap-no-unmap-flush: the next map of the slot reads the old page', () => {
    const { k, f } = setup();
    injected[BUG['kmap-no-unmap-flush']!] = 1;
    const a = kmapLocalPage(k, 1, f[0]!);
    k.mmu.read(a);
    kunmapLocal(k, 1, a);
    const b = kmapLocalPage(k, 1, f[1]!);
    expect(b).toBe(a);
    expect(k.mmu.read(b)).toBe(readFrame(k.frame, f[0]!));
  });
});
