// TLB-hit translation throughput of Mmu.access (lookup, permission check,
// the inline oracle's generation compare, counters) next to a raw 4-way
// set-associative lookup over an Int32Array with the same sets, ways and
// working set.

import { PTE_RW, PTE_US } from '../native-layout/bits.js';
import { C } from '../native-layout/counters.js';
import { createMachineMemory } from '../native-layout/memory.js';
import { defaultShape } from '../native-layout/shape.js';
import { Mmu } from '../src/hw/mmu.js';
import { initPtSlots } from '../src/hw/ptstore.js';
import { mapPte, pgdAlloc, pgtableEnv } from '../src/kernel/mm/pgtable.js';
import { PageAllocator } from '../src/kernel/page_alloc/index.js';
import { GFP_HIGHUSER_MOVABLE } from '../src/kernel/page_alloc/gfp.js';
import { makeRawTlb } from './baselines.js';
import { compareRates, type Measured } from './harness.js';

const SETS = 256;
const WAYS = 4;
const PAGES = 512; // two per set: every access hits
const BASE_VA = 0x7f0000000000;

export function benchTlbHit(quick: boolean): Measured {
  const shape = defaultShape({ memBytes: 64 * 2 ** 20, cpus: 1, tlb4kSets: SETS, tlb4kWays: WAYS });
  const mem = createMachineMemory(shape);
  const alloc = PageAllocator.boot(mem);
  initPtSlots(mem.views.ptSlots, shape.ptPages);
  const env = pgtableEnv(mem, alloc);
  const root = pgdAlloc(env, 0);
  const vas = new Float64Array(PAGES);
  const vpns = new Int32Array(PAGES);
  const raw = makeRawTlb(SETS, WAYS);
  const mmu = new Mmu(mem, 0);
  mmu.writeCr3(root, 1, false);
  for (let i = 0; i < PAGES; i++) {
    const pfn = alloc.allocPages(0, 0, GFP_HIGHUSER_MOVABLE);
    vas[i] = BASE_VA + i * 4096;
    vpns[i] = (vas[i]! / 4096) | 0;
    if (mapPte(env, 0, root, vas[i]!, pfn, PTE_RW | PTE_US) < 0) throw new Error('bench: map failed');
    if (mmu.access(vas[i]!, false, true) !== pfn) throw new Error('bench: translation failed');
    raw.fill(vpns[i]!, pfn);
  }
  const iterations = quick ? 2_000_000 : 20_000_000;
  let sink = 0;
  const m = compareRates({
    name: 'TLB-hit translate',
    unit: 'lookups/s',
    ops: iterations,
    rounds: quick ? 3 : 7,
    subject: () => {
      let s = 0;
      for (let i = 0; i < iterations; i++) s += mmu.access(vas[i & (PAGES - 1)]!, false, true);
      sink += s;
    },
    baselineName: `raw ${WAYS}-way lookup loop`,
    baseline: () => { sink += raw.lookupLoop(vpns, iterations); },
  });
  const misses = mem.views.counters[C.tlbMisses]!; // the subject loop must be all hits
  if (sink === 0.5 || misses > PAGES) throw new Error(`bench: ${misses} TLB misses, expected only the ${PAGES} warm-up misses`);
  return m;
}
