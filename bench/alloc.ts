// Order-0 alloc+free throughput of the page allocator (the per-CPU list fast
// path, with the refills and drains a working set of `live` pages causes)
// next to an Int32Array free stack doing the same take-and-return pattern.

import { createMachineMemory } from '../native-layout/memory.js';
import { defaultShape } from '../native-layout/shape.js';
import { PageAllocator } from '../src/kernel/page_alloc/index.js';
import { GFP_KERNEL } from '../src/kernel/page_alloc/gfp.js';
import { makeFreeStack } from './baselines.js';
import { compareRates, type Measured } from './harness.js';

export function benchAlloc(quick: boolean): Measured {
  const mem = createMachineMemory(defaultShape({ memBytes: 256 * 2 ** 20, cpus: 1 }));
  const alloc = PageAllocator.boot(mem);
  const live = 32;
  const pairs = quick ? 200_000 : 2_000_000;
  const held = new Int32Array(live);
  const raw = makeFreeStack(mem.layout.frames);
  let sink = 0;
  const m = compareRates({
    name: 'order-0 alloc+free',
    unit: 'pairs/s',
    ops: pairs,
    rounds: quick ? 3 : 7,
    subject: () => {
      for (let done = 0; done < pairs; done += live) {
        for (let k = 0; k < live; k++) held[k] = alloc.allocPages(0, 0, GFP_KERNEL);
        for (let k = live - 1; k >= 0; k--) alloc.freePages(0, held[k]!, 0);
      }
      sink += held[0]!;
    },
    baselineName: 'Int32Array free stack',
    baseline: () => { sink += raw.run(pairs, live); },
  });
  if (sink === 0.5) console.log(sink); // keeps the loops observable
  return m;
}
