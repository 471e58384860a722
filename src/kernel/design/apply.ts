// Resolving a variant to its design and making one CPU follow it: every
// policy becomes a field of the CPU's KernelCtx (or of its allocator), read
// by the kernel function it replaces. Done once per CPU, in the thread that
// runs it, at set-up: nothing here runs on a hot path.

import type { KernelCtx } from '../ctx.js';
import { type Variant, parseBuiltinVariant } from '../variant.js';
import { PageAllocator } from '../page_alloc/index.js';
import { FLUSH_INVLPGB, builtinDesign } from './builtins.js';
import { userDesignNamed } from './registry.js';
import type { FlushPolicy, ResolvedDesign } from './types.js';

/**
 * The design of a parsed variant: the built-in one for a built-in
 * spelling; for a user design, its base's built-in design with the
 * policies the user gave in place of the base's. Throws if the variant
 * names a user design this thread has not loaded (a worker that missed
 * the module: an internal fault, not bad input).
 */
export function resolveDesign(v: Variant): ResolvedDesign {
  if (v.design === undefined) return builtinDesign(v);
  const reg = userDesignNamed(v.design);
  if (reg === undefined) throw new Error(`design "${v.design}" is not loaded in this thread`);
  const d = reg.design;
  const base = builtinDesign(parseBuiltinVariant(reg.base));
  return {
    name: d.name,
    description: d.description ?? '',
    base: reg.base,
    source: reg.source,
    flush: d.flush ?? base.flush,
    lazyTlb: d.lazyTlb ?? base.lazyTlb,
    asi: d.asi ?? base.asi,
    ephemeralMap: d.ephemeralMap ?? base.ephemeralMap,
    flip: d.flip ?? base.flip,
  };
}

/** Sets only the flush policy (a scenario that drives flushes of its own machine: flip-storm). */
export function applyFlushPolicy(k: KernelCtx, p: FlushPolicy): void {
  k.flush = p;
  k.invlpgb = p.broadcastKernel;
}

/**
 * Makes CPU k follow design d (variant v is its parsed --variant: the
 * machine-level choices, ASI on or off, the ephemeral region, come from
 * it). Under ASI kernel pages are not global (the series turns them off),
 * so kernel flushes behave as under PTI.
 */
export function applyDesign(k: KernelCtx, v: Variant, d: ResolvedDesign): void {
  k.variant = v;
  k.design = d;
  k.asi = d.asi;
  k.lazyTlb = d.lazyTlb;
  k.ephemeralMap = d.ephemeralMap;
  k.copyFromPageCache = d.ephemeralMap.copyFromPageCache;
  k.copyUserPage = d.ephemeralMap.copyUserPage;
  applyFlushPolicy(k, d.flush);
  if (k.alloc instanceof PageAllocator) k.alloc.ctx.flip = d.flip.rmqueueFlip;
  if (v.asi) k.pti = true;
  // Global ASIDs come with the built-in INVLPGB policy, without ASI (whose
  // per-slot nonsensitive PCIDs have no global counterpart modelled): other
  // broadcasting designs keep the ctx_id-resolved broadcast (invlpgb.ts).
  k.globalAsids = d.flush === FLUSH_INVLPGB && !v.asi;
}
