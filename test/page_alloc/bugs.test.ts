// Every allocator bug wired into the code is caught by its scenario, and the
// same scenario passes without it (the catalogue entries in
// src/check/bugs.ts name these scenarios).

import { afterEach, describe, expect, test } from 'vitest';
import { MIGRATE_UNMOVABLE } from '../../native-layout/bits.js';
import { BUG_CATALOG, setInjected } from '../../src/check/bugs.js';
import { GFP_KERNEL, getPageblockMigratetype } from '../../src/kernel/page_alloc/index.js';
import { machine, violations } from './helpers.js';
import {
  UNMOVABLE_ALL, cachedFrameInClaimedBlock, fourSingles, halfFreeMovableBlock, skipBitRacesClaim,
} from './scenarios.js';

/** Runs a scenario's set-up clean, turns the bug on (or not) for the step that exposes it, returns what the oracle says. */
type Scenario = (inject: () => void) => string[];

const SCENARIOS: Record<string, Scenario> = {
  'buddy-xor-wrong-order': (inject) => {
    const { mem, pa } = fourSingles();
    inject();
    pa.freePages(0, 1, 0);
    pa.freePages(0, 3, 0);
    pa.drainLocalPages(0); // 1 and 3 "pair up" over live frame 2
    return violations(mem);
  },
  'merge-ignores-order': (inject) => {
    const { mem, pa } = fourSingles();
    inject();
    for (const p of [2, 0, 1]) pa.freePages(0, p, 0);
    pa.drainLocalPages(0); // order-1 block 0 swallows order-0 block 2 and live frame 3
    return violations(mem);
  },
  'expand-drops-half': (inject) => {
    const { mem, pa } = machine({ memMiB: 16 });
    inject();
    pa.allocPages(0, 0, GFP_KERNEL);
    return violations(mem);
  },
  'claim-strict-gt': (inject) => {
    // A policy bug, so the golden rule is the check: exactly half free must convert.
    const { mem, pa, block } = halfFreeMovableBlock(256);
    inject();
    pa.allocPages(1, 0, UNMOVABLE_ALL);
    const mt = getPageblockMigratetype(mem.views.pageblock, block);
    return mt === MIGRATE_UNMOVABLE ? violations(mem) : [`block ${block} with 256 of 512 frames free was not claimed`];
  },
  'steal-retypes-block': (inject) => {
    const { mem, pa } = halfFreeMovableBlock(255);
    inject();
    pa.allocPages(1, 0, UNMOVABLE_ALL);
    return violations(mem);
  },
  'pcp-stale-freetype': (inject) => {
    const { mem, pa } = cachedFrameInClaimedBlock();
    inject();
    pa.drainLocalPages(0);
    return violations(mem);
  },
  'pb-word-nonatomic-rmw': (inject) => {
    inject();
    const { mem } = skipBitRacesClaim();
    return violations(mem);
  },
};

afterEach(() => setInjected([]));

describe('injected allocator bugs are caught', () => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    test(`${name}: its scenario passes clean and fails with the bug`, () => {
      expect(scenario(() => setInjected([]))).toEqual([]);
      const found = scenario(() => setInjected([name]));
      expect(found.length, `${name} went unnoticed`).toBeGreaterThan(0);
    });
  }

  test('every allocator bug with a catalogue scenario has a test here', () => {
    // (bugs whose catalogue entry names another test file are checked there)
    const here = (b: (typeof BUG_CATALOG)[number]) => b.args.includes('test=test/page_alloc/bugs.test.ts');
    const wired = BUG_CATALOG.filter((b) => b.layer === 'alloc' && b.scenario !== '' && here(b)).map((b) => b.name);
    expect(wired.sort()).toEqual(Object.keys(SCENARIOS).sort());
  });
});
