// The built-in policies, one object per kernel behaviour, and the design
// each --variant spelling composes from them. The variants are nothing
// more than these compositions: a user's design that names the same
// objects runs the same kernel, and one that replaces an object replaces
// exactly that decision.

import { type Variant, parseVariant } from '../variant.js';
import { makeAsiOnOps, ASI_OFF_OPS } from '../asi/ops.js';
import { type CopyFromPageCache, copyFromPageCacheViaPhysmap } from '../mm/copy-page-cache.js';
import { type CopyUserPage, copyUserPageDirect, copyUserPageViaPhysmap } from '../mm/copy-user-page.js';
import { copyFromPageCacheViaEphmap, copyFromPageCacheViaMermap } from '../ephmap/copy.js';
import { copyUserPageViaEphmap, copyUserPageViaMermap } from '../ephmap/copy-user.js';
import { mitigationFlush } from '../ephmap/mitigation.js';
import { invlpgbMaskWorthIt } from '../tlb/invlpgb.js';
import { enterLazyTlb } from '../tlb/switch-mm.js';
import { rmqueueFlip } from '../page_alloc/flip.js';
import type {
  AsiPolicy, EphemeralMapPolicy, FlipPolicy, FlushPolicy, LazyTlbPolicy, ResolvedDesign,
} from './types.js';

/** Linux's tlb_single_page_flush_ceiling. */
const LINUX_CEILING_PAGES = 33;

function never(): boolean {
  return false;
}

/** Flush by IPIs (native_flush_tlb_multi), full flush above 33 pages: Linux without INVLPGB. */
export const FLUSH_IPI: FlushPolicy = {
  name: 'ipi',
  ceilingPages: LINUX_CEILING_PAGES,
  useBroadcast: never,
  broadcastKernel: false,
};

/** Broadcast INVLPGB + TLBSYNC for mms on 3+ CPUs, and for every kernel-range flush (AMD, Linux 6.15+). */
export const FLUSH_INVLPGB: FlushPolicy = {
  name: 'invlpgb',
  ceilingPages: LINUX_CEILING_PAGES,
  useBroadcast: invlpgbMaskWorthIt,
  broadcastKernel: true,
};

/** enter_lazy_tlb as Linux: keep CR3, set is_lazy. */
export const LAZY_TLB_LINUX: LazyTlbPolicy = { name: 'linux', enterLazyTlb };

/** __rmqueue_asi as the ASI series: zero before map, flush before the freetype bit. */
export const FLIP_LINUX: FlipPolicy = { name: 'rmqueue-asi', rmqueueFlip };

function ephemeralPolicy(name: string, copyFromPageCache: CopyFromPageCache, copyUserPage: CopyUserPage): EphemeralMapPolicy {
  return { name, copyFromPageCache, copyUserPage, loseAccess: mitigationFlush };
}

/** No ASI: copies through the direct map, which is always there. */
export const EPHEMERAL_NONE: EphemeralMapPolicy = ephemeralPolicy('none', copyFromPageCacheViaPhysmap, copyUserPageDirect);
/** ASI, no ephemeral map: copies through the direct map, which faults and exits in the nonsensitive space. */
export const EPHEMERAL_PHYSMAP: EphemeralMapPolicy = ephemeralPolicy('physmap', copyFromPageCacheViaPhysmap, copyUserPageViaPhysmap);
/** The ephmap as posted (K slots per (mm, CPU), local flush at put; src/kernel/ephmap/ephmap.ts). */
export const EPHEMERAL_EPHMAP: EphemeralMapPolicy = ephemeralPolicy('ephmap', copyFromPageCacheViaEphmap, copyUserPageViaEphmap);
/** The 2026 mermap (a window per (mm, CPU), flush on wrap; src/kernel/mermap/mermap.ts). */
export const EPHEMERAL_MERMAP: EphemeralMapPolicy = ephemeralPolicy('mermap', copyFromPageCacheViaMermap, copyUserPageViaMermap);

/** The ASI policy of a variant: off, or the exit and NOFLUSH choices its parts select. */
export function asiPolicyFor(v: Variant): AsiPolicy {
  if (!v.asi) return { ...ASI_OFF_OPS, name: 'off' };
  const name = `${v.switchExit === 'mm-change' ? 'exit-mm-change' : 'exit-every-switch'}${v.noflush ? '+noflush' : ''}`;
  return { ...makeAsiOnOps(v), name };
}

/** The ephemeral-map policy of a variant. */
export function ephemeralPolicyFor(v: Variant): EphemeralMapPolicy {
  if (!v.asi) return EPHEMERAL_NONE;
  if (v.ephemeral === 'ephmap') return EPHEMERAL_EPHMAP;
  if (v.ephemeral === 'mermap') return EPHEMERAL_MERMAP;
  return EPHEMERAL_PHYSMAP;
}

/** The built-in design of a parsed (built-in) variant: every policy the variant's spelling selects. */
export function builtinDesign(v: Variant): ResolvedDesign {
  return {
    name: v.name,
    description: `built-in variant ${v.name}`,
    base: v.name,
    source: null,
    flush: v.invlpgb ? FLUSH_INVLPGB : FLUSH_IPI,
    lazyTlb: LAZY_TLB_LINUX,
    asi: asiPolicyFor(v),
    ephemeralMap: ephemeralPolicyFor(v),
    flip: FLIP_LINUX,
  };
}

/**
 * The built-in designs the registry lists: one per base and per part (the
 * grammar composes the rest; each composition is built the same way).
 */
export const BUILTIN_DESIGN_VARIANTS: readonly string[] = [
  'asi-off', 'asi-off+invlpgb', 'asi-on', 'asi-on+exit-mm-change', 'asi-on+noflush', 'asi-on+ephmap', 'asi-on+mermap',
  'asi-on+invlpgb',
];

/** The built-in designs, by canonical variant name. */
export function builtinDesigns(): ResolvedDesign[] {
  return BUILTIN_DESIGN_VARIANTS.map((n) => builtinDesign(parseVariant(n)));
}
