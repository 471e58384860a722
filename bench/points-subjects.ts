// The entry bench/points-cost.ts bundles twice (once as built, once with
// kernelPoint emptied): the two single-threaded subjects whose cost the
// kernel interleaving points must not raise by more than 3% (issue 11).

export { makeAllocLoop } from './alloc.js';
export { makeTlbHitLoop } from './tlb.js';
