// The hardware's speculative translation fills (SEMANTICS.md §1): at any
// moment a CPU may walk and cache a present translation under its current
// CR3 that no instruction touched, user addresses included while it runs a
// kernel thread on a borrowed (lazy) mm. Which addresses is the hardware's
// business; to make the fills land where the workloads' pages are, each mm
// names where they aim: specPages pages at the start of each of specChunks
// consecutive 2 MiB chunks from specStart (one chunk per thread region).

import {
  MM_LOCAL_REGION as MM_LOCAL_REGION_, MM_SPEC_CHUNKS as MM_SPEC_CHUNKS_, MM_SPEC_PAGES as MM_SPEC_PAGES_, MM_SPEC_START as MM_SPEC_START_,
  MM_STRIDE as MM_STRIDE_,
} from '../../../native-layout/fields.js';
import { type KernelCtx, hwRandom } from '../ctx.js';
import { physmapVa } from '../asi/layout.js';
import { speculateEphemeral } from '../ephmap/speculate-ephemeral.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MM_LOCAL_REGION = MM_LOCAL_REGION_, MM_SPEC_CHUNKS = MM_SPEC_CHUNKS_, MM_SPEC_PAGES = MM_SPEC_PAGES_, MM_SPEC_START = MM_SPEC_START_,
  MM_STRIDE = MM_STRIDE_;

const PAGE = 4096;
const CHUNK_PAGES = 512;

/** Up to n speculative fills from mm's speculation range under the current CR3. */
export function speculate(k: KernelCtx, mm: number, n: number): void {
  if (mm < 0) return;
  const at = mm * MM_STRIDE;
  if (k.mm[at + MM_LOCAL_REGION] !== 0) speculateEphemeral(k, mm, 1);
  const pages = k.mm[at + MM_SPEC_PAGES];
  if (pages <= 0) return;
  const chunks = Math.max(1, k.mm[at + MM_SPEC_CHUNKS]);
  const start = k.mm[at + MM_SPEC_START];
  for (let i = 0; i < n; i++) {
    const r = hwRandom(k) % (pages * chunks);
    k.mmu.specFill((start + Math.floor(r / pages) * CHUNK_PAGES + (r % pages)) * PAGE);
  }
}

/**
 * Up to n speculative fills aimed at the kernel half: the direct map of a
 * random frame. In the sensitive space they succeed (the direct map is
 * there); in a nonsensitive space the walk finds no direct map and caches
 * nothing, unless a design left it (or a global entry) reachable: the
 * isolation oracle checks every such fill.
 */
export function speculateKernel(k: KernelCtx, n: number): void {
  const frames = k.mem.layout.frames;
  for (let i = 0; i < n; i++) k.mmu.specFill(physmapVa(hwRandom(k) % frames));
}
