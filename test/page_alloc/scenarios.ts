// Machine states that the golden tests and the injected-bug tests share.
// Each returns the machine plus the pfns the assertions are about.

import { MIGRATE_UNMOVABLE } from '../../native-layout/bits.js';
import { PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import {
  GFP_HIGHUSER_MOVABLE, GFP_KERNEL, __GFP_MEMALLOC, getPageblockMigratetype, setPageblockSkip,
  setPageblockUpdateHook,
} from '../../src/kernel/page_alloc/index.js';
import { allocAll, machine, type Machine } from './helpers.js';

/** Set-up allocations ignore watermarks so they can fill the zone. */
export const MOVABLE_ALL = GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC;
export const UNMOVABLE_ALL = GFP_KERNEL | __GFP_MEMALLOC;

export interface HalfBlock extends Machine {
  /** First pfn of the movable pageblock under test. */
  readonly block: number;
}

/**
 * Every frame allocated as movable, except the top `free` frames of one
 * pageblock, which are free and fully merged. The other frames of that
 * block are movable order-0 allocations. An unmovable request then has to
 * fall back to this block: free + alike = free (movable frames are not
 * alike), so 256 free frames decide between claim and steal.
 */
export function halfFreeMovableBlock(free: number): HalfBlock {
  const m = machine({ memMiB: 16, cpus: 4, pcpBatch: 7 });
  const { pa } = m;
  const blocks = allocAll(pa, 0, PAGEBLOCK_ORDER, MOVABLE_ALL);
  if (blocks.length !== 8) throw new Error(`set-up: expected 8 pageblocks, got ${blocks.length}`);
  const block = blocks[2]!;
  pa.freePages(0, block, PAGEBLOCK_ORDER);
  pa.drainAllPages(0);
  const singles = allocAll(pa, 0, 0, MOVABLE_ALL);
  if (singles.length !== PAGEBLOCK_NR_PAGES || singles.some((p) => p < block || p >= block + PAGEBLOCK_NR_PAGES)) {
    throw new Error('set-up: the single frames did not all come from the freed block');
  }
  for (let p = block + PAGEBLOCK_NR_PAGES - free; p < block + PAGEBLOCK_NR_PAGES; p++) pa.freePages(0, p, 0);
  pa.drainAllPages(0);
  return { ...m, block };
}

export interface StaleFreetype extends Machine {
  /** The frame cached on cpu 0's movable pcp list. */
  readonly cached: number;
  readonly block: number;
}

/**
 * cpu 0 frees a movable frame onto its pcp list; then cpu 1's unmovable
 * request claims that frame's pageblock (it is mostly free and is the only
 * partly free block left). The frame is still cached, tagged movable, in a
 * block that is now unmovable. The caller drains cpu 0 next.
 */
export function cachedFrameInClaimedBlock(): StaleFreetype {
  const m = machine({ memMiB: 16, cpus: 4 });
  const { mem, pa } = m;
  for (let i = 0; i < 3; i++) pa.allocPages(2, 10, MOVABLE_ALL);
  const cached = pa.allocPages(0, 0, MOVABLE_ALL);
  const block = cached & ~(PAGEBLOCK_NR_PAGES - 1);
  // Take the other (whole) pageblock of the last region so the claim below
  // has to be a partial one, of our block.
  const other = pa.allocPages(2, PAGEBLOCK_ORDER, MOVABLE_ALL);
  if (other < 0 || (other & ~(PAGEBLOCK_NR_PAGES - 1)) === block) throw new Error('set-up: expected the sibling pageblock');
  pa.freePages(0, cached, 0);
  const got = pa.allocPages(1, 0, UNMOVABLE_ALL);
  if (got < block || got >= block + PAGEBLOCK_NR_PAGES) throw new Error('set-up: the unmovable request did not use the block');
  if (getPageblockMigratetype(mem.views.pageblock, block) !== MIGRATE_UNMOVABLE) throw new Error('set-up: block not claimed');
  return { ...m, cached, block };
}

/** Four order-0 allocations that come out as pfns 0, 1, 2, 3 on a fresh zone (batch 1). */
export function fourSingles(): Machine & { readonly pfns: number[] } {
  const m = machine({ memMiB: 16, cpus: 4, pcpBatch: 1 });
  const pfns = [0, 1, 2, 3].map(() => m.pa.allocPages(0, 0, GFP_KERNEL));
  if (pfns.join() !== '0,1,2,3') throw new Error(`set-up: expected pfns 0..3, got ${pfns.join()}`);
  return { ...m, pfns };
}

/**
 * The pageblock-word race, played in one thread: cpu 1 sets pageblock 2's
 * skip bit (compaction; no zone lock), and between its load and its store
 * of the shared word cpu 0 runs an unmovable allocation that claims
 * pageblocks 0-1 (same word) under the zone lock.
 */
export function skipBitRacesClaim(): Machine & { readonly got: number } {
  const m = machine({ memMiB: 16, cpus: 4 });
  const { mem, pa } = m;
  let got = -1;
  let fired = false;
  const target = 2 * PAGEBLOCK_NR_PAGES;
  setPageblockUpdateHook((pfn) => {
    if (fired || pfn !== target) return;
    fired = true;
    got = pa.allocPages(0, 0, GFP_KERNEL);
  });
  try {
    setPageblockSkip(mem.views.pageblock, target, true);
  } finally {
    setPageblockUpdateHook(null);
  }
  if (!fired) throw new Error('set-up: the interleaving point was never reached');
  return { ...m, got };
}
