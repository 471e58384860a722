// The MMU's two halves of a translation, each next to its raw floor:
// - TLB hit: Mmu.access (INVLPGB-pending check, set lookup, rights, the
//   inline oracle's generation compare, counters) vs a raw 4-way
//   set-associative lookup over an Int32Array with the same sets, ways and
//   working set;
// - TLB miss: Mmu.access on addresses that always miss both the TLB and the
//   paging-structure cache (a full 4-level walk with A bits, then a fill)
//   vs a raw loop doing the same four dependent loads.

import { PTE_RW, PTE_US } from '../native-layout/bits.js';
import { C } from '../native-layout/counters.js';
import { createMachineMemory } from '../native-layout/memory.js';
import { defaultShape } from '../native-layout/shape.js';
import { Mmu } from '../src/hw/mmu.js';
import { initPtSlots } from '../src/hw/ptstore.js';
import { mapPte, pgdAlloc, pgtableEnv } from '../src/kernel/mm/pgtable.js';
import { PageAllocator } from '../src/kernel/page_alloc/index.js';
import { GFP_HIGHUSER_MOVABLE } from '../src/kernel/page_alloc/gfp.js';
import { makeRawPageTable, makeRawTlb } from './baselines.js';
import { compareRates, type Row } from './harness.js';

const SETS = 256;
const WAYS = 4;
const PAGES = 512; // two per set: every access hits
const BASE_VA = 0x7f0000000000;

/** A one-CPU machine with a PGD and `vas.length` mapped pages; returns the MMU (CR3 loaded) and the pfns. */
function machineWith(vas: Float64Array, ways: number): { mmu: Mmu; pfns: Int32Array; counters: Float64Array } {
  const shape = defaultShape({ memBytes: 64 * 2 ** 20, cpus: 1, tlb4kSets: SETS, tlb4kWays: ways });
  const mem = createMachineMemory(shape);
  const alloc = PageAllocator.boot(mem);
  initPtSlots(mem.views.ptSlots, shape.ptPages);
  const env = pgtableEnv(mem, alloc);
  const root = pgdAlloc(env, 0);
  const mmu = new Mmu(mem, 0);
  mmu.writeCr3(root, 1, false);
  const pfns = new Int32Array(vas.length);
  for (let i = 0; i < vas.length; i++) {
    pfns[i] = alloc.allocPages(0, 0, GFP_HIGHUSER_MOVABLE);
    if (mapPte(env, 0, root, vas[i]!, pfns[i]!, PTE_RW | PTE_US) < 0) throw new Error('bench: map failed');
  }
  return { mmu, pfns, counters: mem.views.counters };
}

/**
 * The TLB-hit subject, set up and warmed: `run()` does `iterations`
 * Mmu.access calls over PAGES mapped pages (every one a hit) and returns a
 * checksum; `misses()` is the TLB misses so far (the PAGES warm-up ones
 * only, or the loop measured something else). Also bundled on its own by
 * bench/points-cost.ts.
 */
export function makeTlbHitLoop(iterations: number): { run: () => number; misses: () => number; vpns: Int32Array; pfns: Int32Array } {
  const vas = new Float64Array(PAGES);
  const vpns = new Int32Array(PAGES);
  for (let i = 0; i < PAGES; i++) {
    vas[i] = BASE_VA + i * 4096;
    vpns[i] = (vas[i]! / 4096) | 0;
  }
  const { mmu, pfns, counters } = machineWith(vas, WAYS);
  for (let i = 0; i < PAGES; i++) {
    if (mmu.access(vas[i]!, false, true) !== pfns[i]) throw new Error('bench: translation failed');
  }
  return {
    run: () => {
      let s = 0;
      for (let i = 0; i < iterations; i++) s ^= mmu.access(vas[i & (PAGES - 1)]!, false, true);
      return s;
    },
    misses: () => {
      mmu.publishCounters();
      return counters[C.tlbMisses]!;
    },
    vpns,
    pfns,
  };
}

export function benchTlbHit(quick: boolean): Row {
  const iterations = quick ? 2_000_000 : 10_000_000;
  const hit = makeTlbHitLoop(iterations);
  const raw = makeRawTlb(SETS, WAYS);
  for (let i = 0; i < PAGES; i++) raw.fill(hit.vpns[i]!, hit.pfns[i]!);
  let sink = 0;
  const row = compareRates({
    name: 'TLB-hit translate+access',
    unit: 'lookups/s',
    ops: iterations,
    trials: quick ? 5 : 9,
    subject: () => { sink ^= hit.run(); },
    baselineName: `raw ${WAYS}-way lookup loop`,
    baseline: () => { sink ^= raw.lookupLoop(hit.vpns, iterations); },
    target: { on: 'ratio', op: '>=', bound: 0.5 },
  });
  const misses = hit.misses(); // the subject loop must be all hits
  if (sink === 0.5 || misses > PAGES) throw new Error(`bench: ${misses} TLB misses, expected only the ${PAGES} warm-up misses`);
  return row;
}

/** More pages than TLB ways and PSC entries, all in one TLB set and PSC slot: every access walks 4 levels. */
const MISS_PAGES = 40;
const GIB = 2 ** 30;

export function benchTlbMiss(quick: boolean): Row {
  const vas = new Float64Array(MISS_PAGES);
  for (let i = 0; i < MISS_PAGES; i++) vas[i] = BASE_VA + i * GIB;
  const { mmu, pfns, counters } = machineWith(vas, 8);
  const raw = makeRawPageTable(4 * MISS_PAGES + 2);
  for (let i = 0; i < MISS_PAGES; i++) {
    raw.map(vas[i]!, pfns[i]!);
    if (mmu.access(vas[i]!, false, true) !== pfns[i]) throw new Error('bench: translation failed');
  }
  if (raw.walkLoop(vas, MISS_PAGES) !== pfns.reduce((s, p) => s ^ p, 0)) throw new Error('bench: raw walk mistranslates');
  const iterations = quick ? 400_000 : 2_000_000;
  let sink = 0;
  mmu.publishCounters();
  const walks0 = counters[C.walks]!;
  const levels0 = counters[C.walkLevels]!;
  const row = compareRates({
    name: 'TLB-miss 4-level walk+fill',
    unit: 'walks/s',
    ops: iterations,
    trials: quick ? 5 : 9,
    subject: () => {
      let s = 0;
      for (let i = 0; i < iterations; i++) s ^= mmu.access(vas[i % MISS_PAGES]!, false, true);
      sink ^= s;
    },
    baselineName: 'raw 4 dependent loads',
    baseline: () => { sink ^= raw.walkLoop(vas, iterations); },
    target: { on: 'ratio', op: '>=', bound: 0.35 },
  });
  mmu.publishCounters();
  const walks = counters[C.walks]! - walks0;
  const levels = counters[C.walkLevels]! - levels0;
  // Every timed access must have been a full walk, or the row measures something else.
  if (sink === 0.5 || walks < iterations || levels < 4 * walks) {
    throw new Error(`bench: ${walks} walks of ${levels} levels for ${iterations} accesses per run: not all 4-level misses`);
  }
  return row;
}
