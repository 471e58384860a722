// One simulated CPU hammering the shared page allocator: random-order
// allocations, each frame stamped with this CPU's domain and checked again
// before it is freed (another CPU handed the same frame would overwrite it),
// plus occasional drains of every CPU's lists (remote pcp locks).
// workerData.bug turns on one injectable bug in this worker;
// workerData.drainPerMille sets how often a CPU drains (default 10).
// workerData.overlap: after its ops, a CPU goes on working until every
// other CPU has done its ops too (at most 50 times as many), so the CPUs'
// work overlaps in time however the host schedules the threads: on a
// loaded machine one thread could otherwise finish before the other starts,
// and a race needs both running.
// An exception (a corrupted list can make the allocator throw) is
// reported as { done, crashed } rather than killing the worker.
import { workerData, parentPort } from 'node:worker_threads';
import { attachMachineMemory, FRAME_STRIDE, FR_CONTENT, CONTROL_BARRIER_COUNT, CONTROL_CPUS_DONE } from '../../dist/native-layout/index.js';
import { PageAllocator } from '../../dist/src/kernel/page_alloc/index.js';
import { GFP_KERNEL, GFP_HIGHUSER_MOVABLE } from '../../dist/src/kernel/page_alloc/gfp.js';
import { BUG, injected } from '../../dist/src/check/bugs.js';
import { startTogether } from './sync-common.mjs';

const { sab, shape, cpu, ops, seed, bug, drainPerMille = 10, overlap = false } = workerData;
if (bug) injected[BUG[bug]] = 1;
const mem = attachMachineMemory(sab, shape);
const alloc = new PageAllocator(mem);
const frame = mem.views.frame;

let s = seed >>> 0 || 1;
const rand = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };

const live = [];
let allocs = 0, frees = 0, failures = 0, corrupt = 0, drains = 0;
const stamp = ((cpu + 1) << 16);

function freeOne(k) {
  const [pfn, order, tag] = live[k];
  live[k] = live[live.length - 1];
  live.pop();
  for (let i = 0; i < 1 << order; i++) {
    if (frame[(pfn + i) * FRAME_STRIDE + FR_CONTENT] !== tag) corrupt++;
  }
  alloc.freePages(cpu, pfn, order);
  frees++;
}

startTogether(mem.views.control, CONTROL_BARRIER_COUNT, shape.cpus);
let crashed = '';
const control = mem.views.control;
let announced = false;
const more = (op) => {
  if (op < ops) return true;
  if (!announced) { announced = true; Atomics.add(control, CONTROL_CPUS_DONE, 1); }
  return overlap && op < ops * 50 && Atomics.load(control, CONTROL_CPUS_DONE) < shape.cpus;
};
try {
  for (let op = 0; more(op); op++) {
    const r = rand() % 1000;
    if (r < 550 || live.length === 0) {
      const order = r < 450 ? rand() % 4 : rand() % 11;
      const pfn = alloc.allocPages(cpu, order, r & 1 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE);
      if (pfn < 0) { failures++; if (live.length) freeOne(rand() % live.length); continue; }
      allocs++;
      const tag = stamp | (op & 0xffff);
      for (let i = 0; i < 1 << order; i++) frame[(pfn + i) * FRAME_STRIDE + FR_CONTENT] = tag;
      live.push([pfn, order, tag]);
    } else if (r < 1000 - drainPerMille) {
      freeOne(rand() % live.length);
    } else {
      alloc.drainAllPages(cpu);
      drains++;
    }
  }
  while (live.length) freeOne(live.length - 1);
} catch (e) {
  crashed = String(e && e.message || e);
}
if (!announced) Atomics.add(control, CONTROL_CPUS_DONE, 1);
parentPort.postMessage({ done: true, allocs, frees, failures, corrupt, drains, crashed });
