// A kswapd-like kernel thread: pinned to one CPU, it runs there in lazy TLB
// mode on whatever mm the CPU last ran (its flushes reach the mm's other
// CPUs by IPI, and its own CPU catches up by generation), and each step
// shrinks one list of pages of one page-cache file (src/kernel/mm/vmscan.ts):
// unmap with batched flushes, write back, evict. The file range it scans
// lives in its task words; the list and its counts are per CPU.

import { NO_MM } from '../../../native-layout/bits.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { RECLAIM_LIST_MAX, ReclaimList, shrinkPageList } from '../../kernel/mm/vmscan.js';
import { wakeUpNewTask } from '../../kernel/sched/core.js';
import { taskAlloc } from '../../kernel/sched/task.js';
import { speculate } from '../../kernel/tlb/speculate.js';
import { loadedMm } from '../../kernel/tlb/switch-mm.js';
import type { CpuProgram, ProgramCtx } from '../program.js';
import { KIND_KSWAPD, W_AUX0, W_AUX1, W_AUX2, W_ITER, W_PAGES, setTw, tw } from './common.js';
import type { CommonOptions } from './options.js';
import { MmCpu, type TaskStep } from './runner.js';

/** Task words of the kswapd task: the file, first page and pages it scans (W_AUX0..2), pages per pass (W_PAGES), cursor (W_ITER). */
const W_FILE = W_AUX0;
const W_FIRST = W_AUX1;
const W_SPAN = W_AUX2;

/** The mm CPU program with a reclaim list for the kswapd it may run. */
export class KswapdCpu extends MmCpu {
  readonly reclaim = new ReclaimList();

  constructor(ctx: ProgramCtx, opts: CommonOptions, programs: readonly (TaskStep | undefined)[], ioSpinUs: number) {
    super(ctx, opts, programs);
    this.reclaim.ioSpinUs = ioSpinUs;
  }

  override finish(): Record<string, unknown> {
    const r = this.reclaim.stats;
    return {
      ...super.finish(), reclaimScanned: r.scanned, reclaimUnmapped: r.unmapped, reclaimDeferred: r.deferred,
      reclaimWritebacks: r.writebacks, reclaimEvicted: r.evicted, reclaimKept: r.kept, reclaimBatchFlushes: r.batchFlushes,
    };
  }
}

/**
 * Creates the kswapd task at set-up, on cpu's queue and bound to it, to
 * scan pages [first, first + span) of file, listPages per pass. Returns its
 * tid, or -1 if no task slot is left.
 */
export function createKswapd(k: KernelCtx, cpu: number, file: number, first: number, span: number, listPages: number): number {
  const tid = taskAlloc(k, NO_MM, KIND_KSWAPD, cpu, -1);
  if (tid < 0) return -1;
  setTw(k, tid, W_FILE, file);
  setTw(k, tid, W_FIRST, first);
  setTw(k, tid, W_SPAN, span);
  setTw(k, tid, W_PAGES, Math.min(listPages, span, RECLAIM_LIST_MAX));
  wakeUpNewTask(k, tid, cpu);
  return tid;
}

/** One pass: the next listPages pages of the range (wrapping), shrunk as one list. */
export function kswapdStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  if (!(cpu instanceof KswapdCpu)) throw new Error(`kswapd task ${tid} runs on CPU ${k.cpu}, whose program has no reclaim list`);
  cpu.stats.kthreadSteps++;
  // Lazy: the borrowed mm's user half stays walkable by the hardware.
  speculate(k, loadedMm(k), 2);
  const list = cpu.reclaim;
  const first = tw(k, tid, W_FIRST);
  const span = tw(k, tid, W_SPAN);
  const n = tw(k, tid, W_PAGES);
  const cursor = tw(k, tid, W_ITER);
  list.begin(k, tid, tw(k, tid, W_FILE));
  for (let i = 0; i < n; i++) list.add(first + ((cursor + i) % span));
  setTw(k, tid, W_ITER, (cursor + n) % span);
  shrinkPageList(k, list);
}
