// Random operation sequences against the allocator, with the full invariant
// check every few operations and a model of live allocations on the side
// (no frame handed out twice, contents zeroed when asked, a new content
// generation on every free). At the end everything is freed and drained and
// the zone must be whole again.

import fc from 'fast-check';
import { describe, test } from 'vitest';
import {
  FRAME_F_ZEROED, FRAME_STATE_MASK, FS_ALLOCATED, MIGRATE_TYPES, NR_FREETYPES,
} from '../../native-layout/bits.js';
import { FRAME_STRIDE, FR_CONTENT, FR_CONTENT_GEN, FR_FLAGS } from '../../native-layout/fields.js';
import { MAX_PAGE_ORDER, PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import { checkAllocator } from '../../src/check/allocator-invariants.js';
import {
  GFP_ATOMIC, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_NOWAIT, GFP_PGTABLE, GFP_USER, __GFP_RECLAIMABLE, __GFP_ZERO,
  getPageblockFreetype, setPageblockNonsensitive,
} from '../../src/kernel/page_alloc/index.js';
import { freeList, machine } from './helpers.js';

const GFPS = [
  GFP_KERNEL, GFP_ATOMIC, GFP_USER, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE, GFP_PGTABLE, GFP_NOWAIT,
  GFP_KERNEL | __GFP_RECLAIMABLE | __GFP_ZERO, GFP_HIGHUSER_MOVABLE | __GFP_ZERO,
];
const GFP_NAMES = [
  'GFP_KERNEL', 'GFP_ATOMIC', 'GFP_USER', 'GFP_HIGHUSER_MOVABLE', 'GFP_KERNEL|RECLAIMABLE', 'GFP_PGTABLE', 'GFP_NOWAIT',
  'GFP_KERNEL|RECLAIMABLE|ZERO', 'GFP_HIGHUSER_MOVABLE|ZERO',
];
const OPS = 10_000;
/**
 * The full scan costs ~0.15 ms at these sizes, so a case checks every few
 * ops; a failing case is re-run checking after every op, so the report
 * names the exact op that broke an invariant.
 */
const CHECK_EVERY = 4;

/** mulberry32: a tiny seeded PRNG, so one fast-check seed replays one op sequence. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Params {
  seed: number;
  memMiB: number;
  cpus: number;
  batch: number | undefined;
  asi: boolean;
}

function run(p: Params, checkEvery: number): void {
  const { mem, pa } = machine({ memMiB: p.memMiB, cpus: p.cpus, pcpBatch: p.batch, asi: p.asi });
  const frame = mem.views.frame;
  const frames = mem.layout.frames;
  const rnd = prng(p.seed);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const owner = new Int32Array(frames).fill(-1);
  const live: { pfn: number; order: number }[] = [];
  let liveFrames = 0;
  let desc = 'boot';
  let op = -1;

  const fail = (why: string): never => {
    throw new Error(`seed ${p.seed} ${p.memMiB} MiB batch ${p.batch ?? 'default'} asi ${p.asi}: found after op #${op} (${desc}; full check every ${checkEvery} ops): ${why}`);
  };
  const check = (): void => {
    const v = checkAllocator(mem);
    if (v.length > 0) fail(`\n${v.slice(0, 8).map((x) => `  [${x.kind}] ${x.message}`).join('\n')}`);
    if (pa.freePageCount() + liveFrames !== frames) fail(`free ${pa.freePageCount()} + live ${liveFrames} != ${frames}`);
  };

  if (p.asi) {
    // Give the nonsensitive lane some memory the way the flip path will:
    // take whole pageblocks, flip them while owned, free them.
    const blocks: number[] = [];
    for (let i = 0; i < 3; i++) {
      const pfn = pa.allocPages(0, PAGEBLOCK_ORDER, GFP_USER);
      if (pfn >= 0) blocks.push(pfn);
    }
    for (const pfn of blocks) {
      setPageblockNonsensitive(mem.views.pageblock, pfn, true);
      pa.freePages(0, pfn, PAGEBLOCK_ORDER);
    }
    pa.drainAllPages(0);
  }
  check();

  for (op = 0; op < OPS; op++) {
    const r = rnd();
    const cpu = pick(p.cpus);
    if (r < 0.55 || live.length === 0) {
      const o = rnd();
      const order = o < 0.55 ? 0 : o < 0.8 ? 1 + pick(3) : 4 + pick(MAX_PAGE_ORDER - 3);
      const g = pick(GFPS.length);
      desc = `alloc cpu ${cpu} order ${order} ${GFP_NAMES[g]}`;
      const pfn = pa.allocPages(cpu, order, GFPS[g]!);
      if (pfn >= 0) {
        const n = 1 << order;
        if (pfn % n !== 0) fail(`pfn ${pfn} not aligned to order ${order}`);
        for (let f = pfn; f < pfn + n; f++) {
          if (owner[f] !== -1) fail(`frame ${f} handed out again while allocation ${owner[f]} is live (double allocation)`);
          owner[f] = pfn;
          const i = f * FRAME_STRIDE;
          if ((frame[i + FR_FLAGS]! & FRAME_STATE_MASK) !== FS_ALLOCATED) fail(`frame ${f} not marked allocated`);
          if ((GFPS[g]! & __GFP_ZERO) !== 0 && (frame[i + FR_CONTENT] !== 0 || (frame[i + FR_FLAGS]! & FRAME_F_ZEROED) === 0)) {
            fail(`frame ${f} not zeroed for __GFP_ZERO`);
          }
          // Use the memory: dirty it as a write through a mapping would.
          frame[i + FR_CONTENT] = (pfn & 0xffff) | 0x10000;
          frame[i + FR_FLAGS] = frame[i + FR_FLAGS]! & ~FRAME_F_ZEROED;
        }
        live.push({ pfn, order });
        liveFrames += n;
      }
    } else if (r < 0.9) {
      const k = pick(live.length);
      const a = live[k]!;
      live[k] = live[live.length - 1]!;
      live.pop();
      desc = `free cpu ${cpu} pfn ${a.pfn} order ${a.order}`;
      const gen = frame[a.pfn * FRAME_STRIDE + FR_CONTENT_GEN]!;
      pa.freePages(cpu, a.pfn, a.order);
      if (frame[a.pfn * FRAME_STRIDE + FR_CONTENT_GEN] !== gen + 1) fail(`content generation of ${a.pfn} not bumped`);
      for (let f = a.pfn; f < a.pfn + (1 << a.order); f++) owner[f] = -1;
      liveFrames -= 1 << a.order;
    } else if (r < 0.95) {
      desc = `drain_local_pages cpu ${cpu}`;
      pa.drainLocalPages(cpu);
    } else {
      desc = `drain_all_pages from cpu ${cpu}`;
      pa.drainAllPages(cpu);
    }
    if (op % checkEvery === checkEvery - 1) check();
  }

  desc = 'free everything and drain';
  for (const a of live) pa.freePages(pick(p.cpus), a.pfn, a.order);
  liveFrames = 0;
  pa.drainAllPages(0);
  check();
  if (pa.freePageCount() !== frames) fail(`${pa.freePageCount()} of ${frames} frames free at the end`);
  // Whole again: every free block is max order, except pageblocks kept
  // apart by sensitivity (ASI runs), which stop at pageblock order.
  const pb = mem.views.pageblock;
  for (let o = 0; o < MAX_PAGE_ORDER; o++) {
    for (let ft = 0; ft < NR_FREETYPES; ft++) {
      for (const pfn of freeList(mem, o, ft)) {
        const buddy = pfn ^ (1 << o);
        const apart = o === PAGEBLOCK_ORDER
          && (getPageblockFreetype(pb, pfn) >= MIGRATE_TYPES) !== (getPageblockFreetype(pb, buddy) >= MIGRATE_TYPES);
        if (!apart) fail(`free block ${pfn} of order ${o} (freetype ${ft}) did not merge back to order ${MAX_PAGE_ORDER}`);
      }
    }
  }
}

describe('random operation sequences keep every allocator invariant', () => {
  test(`${OPS} ops per case on 16-32 MiB, 4 CPUs, checked every ${CHECK_EVERY} ops`, () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.noShrink(fc.integer()),
          memMiB: fc.constantFrom(16, 32),
          cpus: fc.constant(4),
          batch: fc.constantFrom(undefined, 3, 7, 15, 31),
          asi: fc.boolean(),
        }),
        (params) => {
          try {
            run(params, CHECK_EVERY);
          } catch (e) {
            run(params, 1);
            throw e;
          }
        },
      ),
      { numRuns: Number(process.env.PAGE_ALLOC_RUNS ?? 20) },
    );
  });
});
