// The oracle's guest_memfd checks (issue 8; SEMANTICS.md §8, §9 item 2).
//
// - gmem-direct-map: a host CPU's load through the ordinary direct map
//   (architectural, or speculative through whatever its TLB caches) reached
//   a frame holding a guest's data. With guest_memfd's direct map removed,
//   no translation to such a frame may exist in any TLB once the zap's
//   flush completed; a stale 2 MiB or 1 GiB entry left by a zap without a
//   flush is exactly what a Spectre-style gadget would read through. Guest
//   data is told by its content domain (GUEST_DOMAIN_BASE + vCPU): frames
//   are scrubbed before they go back to the direct map, so a direct-map
//   read that sees a guest domain is a read of live guest memory.
// - direct-map-hole: a frame reached the allocator's free path while
//   absent from the direct map (alloc-context.ts).

import { contentDomain, readFrame } from '../hw/frames.js';
import type { KernelCtx } from '../kernel/ctx.js';
import { V_DIRECT_MAP_HOLE, V_GMEM_DIRECT_MAP, reportViolation } from './oracle.js';

/** Content domain of vCPU v's guest data: GUEST_DOMAIN_BASE + v (v < 64). */
export const GUEST_DOMAIN_BASE = 0x4000;
/** How the host CPU reached the frame (the record's frameGen). */
export const GMEM_READ_TLB = 0;
export const GMEM_READ_WALK = 1;

/** Whether a content word is a guest's data. */
export function isGuestContent(word: number): boolean {
  const d = contentDomain(word);
  return d >= GUEST_DOMAIN_BASE && d < GUEST_DOMAIN_BASE + 64;
}

/**
 * A host CPU's load at direct-map address va reached pfn (how: through a
 * TLB entry it held, or a fresh walk). Reports gmem-direct-map when the
 * frame holds guest data; fillGen = the vCPU whose data it is.
 */
export function checkGmemDirectMapRead(k: KernelCtx, va: number, pfn: number, how: number, op: number): boolean {
  const word = readFrame(k.frame, pfn);
  if (!isGuestContent(word)) return false;
  reportViolation(k.views, k.cpu, V_GMEM_DIRECT_MAP, va, pfn, contentDomain(word) - GUEST_DOMAIN_BASE, how, -1, op);
  return true;
}

/** A frame (block of 2^order) reached the free path while absent from the direct map. */
export function reportDirectMapHole(k: KernelCtx, pfn: number, order: number): void {
  reportViolation(k.views, k.cpu, V_DIRECT_MAP_HOLE, 0, pfn, order, 0, -1, -1);
}
