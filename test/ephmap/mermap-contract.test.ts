import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { CPU_PREEMPT_COUNT, MER_FLUSHES } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { V_EPHMAP, firstViolation, violationCount } from '../../src/check/oracle.js';
import { writeFrame, readFrame } from '../../src/hw/frames.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { ephemAt, enableMmLocalRegion, MERMAP_PAGES } from '../../src/kernel/ephmap/region.js';
import { mmAlloc } from '../../src/kernel/mm/mm.js';
import {
  MERMAP_FAIL, MERMAP_RESERVED, checkMermapFreed, mermapFlushBeforeFree, mermapGet, mermapGetReserved, mermapPut,
} from '../../src/kernel/mermap/mermap.js';
import { GFP_KERNEL } from '../../src/kernel/page_alloc/gfp.js';
import { kernelMachine, resetMachineState, switchTo } from '../tlb/kernel-machine.js';

// The mermap's design contract (bjackman/linux mm/mermap.c and its KUnit
// test): no flush at all until the window is exhausted, then exactly one
// local flush and no IPI when it wraps; the reserved page is there even
// when all 4 allocation slots are live.

afterEach(resetMachineState);

const count = (k: KernelCtx, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;

function setup(): { k: KernelCtx; other: KernelCtx; mm: number; frames: number[] } {
  const m = kernelMachine(2);
  const k = m.cpu[0]!;
  enableMmLocalRegion(k);
  const mm = mmAlloc(k);
  expect(mm).toBeGreaterThan(0);
  switchTo(k, mm);
  const frames: number[] = [];
  for (let i = 0; i < 40; i++) {
    const pfn = k.alloc.allocPages(0, 0, GFP_KERNEL);
    writeFrame(k.frame, pfn, 7, 100 + i);
    frames.push(pfn);
  }
  return { k, other: m.cpu[1]!, mm, frames };
}

describe('mermap window', () => {
  it('does no flush until it wraps, then exactly one local flush and no IPI, and the reused address reads the new page', () => {
    const { k, mm, frames } = setup();
    const before = {
      local: count(k, 'flushesLocal'), invlpg: count(k, 'invlpg'), invpcid: count(k, 'invpcid'), ipis: count(k, 'ipisSent'),
    };
    const usable = MERMAP_PAGES - 1;
    const first = mermapGet(k, mm, frames[0]!, 1, 1);
    expect(k.mmu.read(first)).toBe(readFrame(k.frame, frames[0]!));
    mermapPut(k, mm, first);
    for (let i = 1; i < usable; i++) {
      const va = mermapGet(k, mm, frames[i]!, 1, 1);
      expect(va).toBe(first + i * 4096);
      expect(k.mmu.read(va)).toBe(readFrame(k.frame, frames[i]!));
      mermapPut(k, mm, va);
    }
    expect(count(k, 'flushesLocal')).toBe(before.local);
    expect(count(k, 'invlpg')).toBe(before.invlpg);
    expect(count(k, 'invpcid')).toBe(before.invpcid);
    expect(count(k, 'mermapWraps')).toBe(0);
    expect(k.views.ephem[ephemAt(k, mm, 0) + MER_FLUSHES]).toBe(0);
    // The window is exhausted: this get rewinds to the first address.
    const again = mermapGet(k, mm, frames[20]!, 1, 1);
    expect(again).toBe(first);
    expect(count(k, 'mermapWraps')).toBe(1);
    expect(k.views.ephem[ephemAt(k, mm, 0) + MER_FLUSHES]).toBe(1);
    expect(count(k, 'flushesLocal')).toBe(before.local + 1);
    expect(count(k, 'invpcid')).toBe(before.invpcid + 1);
    expect(count(k, 'ipisSent')).toBe(before.ipis);
    expect(k.mmu.read(again)).toBe(readFrame(k.frame, frames[20]!));
    expect(violationCount(k.views)).toBe(0);
  });

  it('without the wrap flush (mermap-no-wrap-flush) the reused address still reads the old page, and the oracle says so at the wrap', () => {
    const { k, mm, frames } = setup();
    injected[BUG['mermap-no-wrap-flush']!] = 1;
    const first = mermapGet(k, mm, frames[0]!, 1, 1);
    expect(k.mmu.read(first)).toBe(readFrame(k.frame, frames[0]!));
    mermapPut(k, mm, first);
    for (let i = 1; i < MERMAP_PAGES - 1; i++) mermapPut(k, mm, mermapGet(k, mm, frames[i]!, 1, 1));
    const again = mermapGet(k, mm, frames[20]!, 1, 1);
    expect(again).toBe(first);
    expect(firstViolation(k.views)).toMatchObject({ kind: V_EPHMAP, cpu: 0, slotCpu: 0, va: first, pfn: frames[0] });
    expect(k.mmu.read(again)).toBe(readFrame(k.frame, frames[0]!));
  });

  it('keeps the reserved page when all 4 slots are live', () => {
    const { k, mm, frames } = setup();
    const live = [0, 1, 2, 3].map((i) => mermapGet(k, mm, frames[i]!, 1, 1));
    for (const va of live) expect(va).toBeGreaterThan(0);
    expect(mermapGet(k, mm, frames[4]!, 1, 1)).toBe(MERMAP_FAIL);
    expect(count(k, 'ephmapFallbacks')).toBe(1);
    k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT]! += 1;
    const res = mermapGetReserved(k, mm, frames[5]!, 1);
    expect(res).toBe(live[0]! + MERMAP_RESERVED * 4096);
    expect(k.mmu.read(res)).toBe(readFrame(k.frame, frames[5]!));
    mermapPut(k, mm, res);
    k.cpuState[k.cpuAt + CPU_PREEMPT_COUNT]! -= 1;
    for (let i = 0; i < 4; i++) expect(k.mmu.read(live[i]!)).toBe(readFrame(k.frame, frames[i]!));
    expect(count(k, 'flushesLocal')).toBe(0);
  });

  it('flushes a pending page before it is freed; mermap-free-while-pending frees it still cached', () => {
    for (const bug of [false, true]) {
      const { k, mm, frames } = setup();
      injected[BUG['mermap-free-while-pending']!] = bug ? 1 : 0;
      const va = mermapGet(k, mm, frames[0]!, 1, 1);
      k.mmu.read(va);
      mermapPut(k, mm, va);
      mermapFlushBeforeFree(k, mm);
      checkMermapFreed(k, frames[0]!);
      if (bug) expect(firstViolation(k.views)).toMatchObject({ kind: V_EPHMAP, pfn: frames[0], slotCpu: 0 });
      else {
        expect(violationCount(k.views)).toBe(0);
        expect(k.views.ephem[ephemAt(k, mm, 0) + MER_FLUSHES]).toBe(1);
      }
      resetMachineState();
    }
  });
});
