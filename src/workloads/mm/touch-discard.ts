// The will-it-scale tlb_flush loop shared by tlb-flush1/2/3: one iteration
// is two steps, touch every page of the thread's region, then
// madvise(DONTNEED) them all and check one page. What that page must read
// after the discard is the only difference between the three: zero (anonymous
// memory, or a private file mapping whose copies were dropped) or what was
// written (a shared file mapping, whose page cache keeps the data).

import type { KernelCtx } from '../../kernel/ctx.js';
import { sysMadviseDontneed } from '../../kernel/mm/madvise.js';
import { taskMm } from '../../kernel/sched/task.js';
import { W_ITER, W_PAGES, W_PHASE, W_REGION, mmDomain, secretOf, setTw, tw } from './common.js';
import type { MmCpu } from './runner.js';
import { expectZero, peekSiblings, touchPages, verifyPages } from './user-ops.js';

const PH_TOUCH = 0;
const PH_DISCARD = 1;

/**
 * readFirst: read one page before writing (a private file mapping then maps
 * the cache page read-only and the write copies it). keepsData: after the
 * discard the page still holds what was written.
 */
export function touchDiscardStep(k: KernelCtx, tid: number, cpu: MmCpu, readFirst: boolean, keepsData: boolean): void {
  const mm = taskMm(k, tid);
  const region = tw(k, tid, W_REGION);
  const pages = tw(k, tid, W_PAGES);
  const iter = tw(k, tid, W_ITER);
  const domain = mmDomain(k, mm);
  if (tw(k, tid, W_PHASE) === PH_TOUCH) {
    if (readFirst) expectZero(k, cpu, tid, mm, region + ((iter * 7) % pages));
    touchPages(k, cpu, tid, mm, region, pages, domain, (i) => secretOf(tid, iter, i));
    setTw(k, tid, W_PHASE, PH_DISCARD);
  } else {
    sysMadviseDontneed(k, mm, region, pages);
    cpu.stats.madvises++;
    const i = iter % pages;
    if (keepsData) verifyPages(k, cpu, tid, mm, region + i, 1, domain, () => secretOf(tid, iter, i));
    else expectZero(k, cpu, tid, mm, region + i);
    setTw(k, tid, W_ITER, iter + 1);
    setTw(k, tid, W_PHASE, PH_TOUCH);
  }
  if (cpu.opts.peekPercent > 0 && cpu.rng.below(100) < cpu.opts.peekPercent) peekSiblings(k, cpu, tid, mm, domain, pages, 4, false);
}
