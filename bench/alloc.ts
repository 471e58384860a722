// Order-0 alloc+free throughput of the page allocator (the per-CPU list fast
// path, with the refills and drains a working set of `live` pages causes)
// next to an Int32Array free stack doing the same take-and-return pattern:
// once with one spinlock per operation (what the pcp path cannot avoid: the
// target) and once without any lock (reported).

import { createMachineMemory } from '../native-layout/memory.js';
import { defaultShape } from '../native-layout/shape.js';
import { PageAllocator } from '../src/kernel/page_alloc/index.js';
import { GFP_KERNEL } from '../src/kernel/page_alloc/gfp.js';
import { makeFreeStack, makeLockedFreeStack } from './baselines.js';
import { compareRates, type Row } from './harness.js';

/**
 * The alloc subject: `run()` does `pairs` order-0 allocPages/freePages
 * pairs through the per-CPU lists of a fresh one-CPU 256 MiB machine,
 * `live` pages held at a time, and returns a checksum. Also bundled on its
 * own by bench/points-cost.ts.
 */
export function makeAllocLoop(pairs: number, live: number): { run: () => number; frames: number } {
  const mem = createMachineMemory(defaultShape({ memBytes: 256 * 2 ** 20, cpus: 1 }));
  const alloc = PageAllocator.boot(mem);
  const held = new Int32Array(live);
  return {
    run: () => {
      for (let done = 0; done < pairs; done += live) {
        for (let k = 0; k < live; k++) held[k] = alloc.allocPages(0, 0, GFP_KERNEL);
        for (let k = live - 1; k >= 0; k--) alloc.freePages(0, held[k]!, 0);
      }
      return held[0]!;
    },
    frames: mem.layout.frames,
  };
}

export function benchAlloc(quick: boolean): Row[] {
  const live = 32;
  const pairs = quick ? 200_000 : 1_000_000;
  const loop = makeAllocLoop(pairs, live);
  const locked = makeLockedFreeStack(loop.frames);
  const raw = makeFreeStack(loop.frames);
  let sink = 0;
  const subject = (): void => { sink += loop.run(); };
  const trials = quick ? 5 : 9;
  const rows = [
    compareRates({
      name: 'order-0 alloc+free (pcp)',
      unit: 'pairs/s',
      ops: pairs,
      trials,
      subject,
      baselineName: 'Int32Array free stack, spinlock per op',
      baseline: () => { sink += locked.run(pairs, live); },
      target: { on: 'ratio', op: '>=', bound: 0.5 },
    }),
    compareRates({
      name: 'order-0 alloc+free (pcp) vs unlocked',
      unit: 'pairs/s',
      ops: pairs,
      trials,
      subject,
      baselineName: 'Int32Array free stack, no lock',
      baseline: () => { sink += raw.run(pairs, live); },
      target: null,
    }),
  ];
  if (sink === 0.5) console.log(sink); // keeps the loops observable
  return rows;
}
