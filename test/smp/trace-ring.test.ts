import { describe, expect, it } from 'vitest';
import { createMachineMemory, defaultShape } from '../../native-layout/index.js';
import { lastEvents, traceRings } from '../../src/trace/ring.js';
import { EV_IPI_SEND } from '../../src/trace/events.js';
import { PageAllocator } from '../../src/kernel/page_alloc/index.js';
import { GFP_KERNEL } from '../../src/kernel/page_alloc/gfp.js';

describe('per-CPU trace rings', () => {
  it('keep the last events of each CPU, oldest first, wrapping around', () => {
    const mem = createMachineMemory(defaultShape({ memBytes: 16 * 2 ** 20, cpus: 2, traceEntries: 8 }));
    const ring = traceRings(mem)[1]!;
    for (let i = 0; i < 20; i++) ring.emit(EV_IPI_SEND, i, 5, 0);
    const ev = lastEvents(mem, 1, 100);
    expect(ev).toHaveLength(8);
    expect(ev.map((e) => e.args)).toEqual([12, 13, 14, 15, 16, 17, 18, 19].map((i) => `to cpu ${i} func 5`));
    expect(lastEvents(mem, 0, 100)).toEqual([]);
    expect(lastEvents(mem, 1, 3).map((e) => e.kind)).toEqual(['ipi-send', 'ipi-send', 'ipi-send']);
  });

  it('record allocator events on the CPU that made them', () => {
    const mem = createMachineMemory(defaultShape({ memBytes: 16 * 2 ** 20, cpus: 2 }));
    const alloc = PageAllocator.boot(mem);
    const pfn = alloc.allocPages(1, 2, GFP_KERNEL);
    alloc.freePages(1, pfn, 2);
    const ev = lastEvents(mem, 1, 10);
    expect(ev.map((e) => e.kind)).toEqual(['alloc', 'free']);
    expect(ev[0]!.args).toContain(`pfn ${pfn} order 2`);
    expect(lastEvents(mem, 0, 10).filter((e) => e.kind === 'alloc')).toEqual([]);
  });
});
