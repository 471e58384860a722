// One simulated CPU hammering the shared page allocator: random-order
// allocations, each frame stamped with this CPU's domain and checked again
// before it is freed (another CPU handed the same frame would overwrite it),
// plus occasional drains of every CPU's lists (remote pcp locks).
import { workerData, parentPort } from 'node:worker_threads';
import { attachMachineMemory, FRAME_STRIDE, FR_CONTENT, CONTROL_BARRIER_COUNT } from '../../dist/native-layout/index.js';
import { PageAllocator } from '../../dist/src/kernel/page_alloc/index.js';
import { GFP_KERNEL, GFP_HIGHUSER_MOVABLE } from '../../dist/src/kernel/page_alloc/gfp.js';
import { startTogether } from './sync-common.mjs';

const { sab, shape, cpu, ops, seed } = workerData;
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
for (let op = 0; op < ops; op++) {
  const r = rand() % 100;
  if (r < 55 || live.length === 0) {
    const order = r < 45 ? rand() % 4 : rand() % 11;
    const pfn = alloc.allocPages(cpu, order, r & 1 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE);
    if (pfn < 0) { failures++; if (live.length) freeOne(rand() % live.length); continue; }
    allocs++;
    const tag = stamp | (op & 0xffff);
    for (let i = 0; i < 1 << order; i++) frame[(pfn + i) * FRAME_STRIDE + FR_CONTENT] = tag;
    live.push([pfn, order, tag]);
  } else if (r < 99) {
    freeOne(rand() % live.length);
  } else {
    alloc.drainAllPages(cpu);
    drains++;
  }
}
while (live.length) freeOne(live.length - 1);
parentPort.postMessage({ done: true, allocs, frees, failures, corrupt, drains });
