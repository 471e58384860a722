// Speculative fills of OTHER CPUs' ephemeral slots (SEMANTICS.md §1, issue
// 7 item 5): every CPU running an mm walks the same page tables, the
// mm-local region included, so the hardware may cache a translation of
// another CPU's live ephmap slot or mermap allocation that no instruction
// of this CPU touched. That is the entry the mitigation flushes
// (mitigation.ts) exist for, and what the isolation audit
// (check/ephemeral-audit.ts) looks for.
//
// Which addresses the hardware prefetches is its business; to make the
// rare overlap (a slot is live only for the length of a copy) frequent
// enough to test, the fill aims at a slot another CPU has in use right now
// (read racily from the ephem region), and walks it: if the owner already
// put it, the walk finds a non-present PTE (or the sentinel) and nothing is
// cached, as on hardware.

import { EPH_IN_USE, EPH_PAGES, MER_BASE, MER_END, MER_IN_USE } from '../../../native-layout/fields.js';
import { type KernelCtx, hwRandom } from '../ctx.js';
import { EPHMAP_MAX_SLOTS, EPHMAP_SLOT_PAGES, MERMAP_FIRST, cpuWindowBase, ephemAt } from './region.js';

const PAGE = 4096;
const MERMAP_ALLOCS = 4;

/** Up to n speculative fills of other CPUs' live ephemeral slots of mm, under the current CR3. */
export function speculateEphemeral(k: KernelCtx, mm: number, n: number): void {
  if (k.cpus < 2) return;
  const e = k.views.ephem;
  for (let i = 0; i < n; i++) {
    const c = (k.cpu + 1 + hwRandom(k) % (k.cpus - 1)) % k.cpus;
    const rec = ephemAt(k, mm, c);
    const pick = hwRandom(k) % (EPHMAP_MAX_SLOTS + MERMAP_ALLOCS);
    let page = -1;
    if (pick < EPHMAP_MAX_SLOTS) {
      if (Atomics.load(e, rec + EPH_IN_USE + pick) === 0) continue;
      const pages = Math.max(1, e[rec + EPH_PAGES + pick]!);
      page = pick * EPHMAP_SLOT_PAGES + hwRandom(k) % pages;
    } else {
      const a = pick - EPHMAP_MAX_SLOTS;
      if (Atomics.load(e, rec + MER_IN_USE + a) === 0) continue;
      const base = e[rec + MER_BASE + a]!;
      const pages = Math.max(1, e[rec + MER_END + a]! - base);
      page = MERMAP_FIRST + base + hwRandom(k) % pages;
    }
    k.mmu.specFill(cpuWindowBase(c) + page * PAGE);
  }
}
