// The design a run emulates, parsed once from `--variant` into a typed
// object that every CPU builds its kernel decisions from (kernel ctx seams:
// k.asi, k.invlpgb). Kernel code never looks at the string.
//
// Grammar: base[+part...]
//   base  asi-off   no ASI (the default; `ipi` is the old name of it)
//         asi-on    ASI with no ephemeral map: every sensitive access exits
//         invlpgb   old spelling of asi-off+invlpgb
//   part  ephmap | mermap            ephemeral map for file copies (asi-on only;
//                                    the ephmap helper's seam reads it)
//         exit-every-switch          asi_exit on every context switch (2025
//                                    posting; the asi-on default)
//         exit-mm-change             asi_exit only when switch_mm changes mm
//                                    (struct asi lives as long as the mm,
//                                    kernel threads keep it)
//         noflush                    ASI CR3 writes use NOFLUSH, the
//                                    nonsensitive PCID tracked by tlb_gen
//                                    (default: every transition flushes it)
//         invlpgb                    broadcast invalidation + TLBSYNC for mms on
//                                    3+ CPUs instead of IPIs
//         per-folio | no-flush | freetype
//                                    guest_memfd's direct-map strategy (issue 8,
//                                    src/kernel/gmem; the guest-memfd scenario
//                                    reads it): zap + flush per folio, the same
//                                    without the flush, the unmapped freetype.
//                                    May stand alone: `--variant freetype` is
//                                    asi-off+freetype, spelt `freetype`.
// Each part at most once; ephmap and mermap exclude each other, so do the
// two exit-* parts and the three guest_memfd strategies; ASI parts need
// asi-on.
//
// A registered user design's name (src/kernel/design/registry.ts) is a
// variant too: its base variant's fields, under its own name.

import { userDesignNamed, userDesignNames } from './design/registry.js';

export type EphemeralMapKind = 'none' | 'ephmap' | 'mermap';

/** When switching tasks makes a CPU leave the nonsensitive space. */
export type AsiSwitchExit = 'every-switch' | 'mm-change';

/** A parsed --variant. Plain data: it crosses to the workers as its string and is parsed again there. */
export interface Variant {
  /** The canonical spelling (base first, parts in grammar order). */
  readonly name: string;
  /** Address Space Isolation on: per-mm nonsensitive address spaces, asi_enter/asi_exit. */
  readonly asi: boolean;
  /** Which ephemeral map file copies use (ASI only); 'none' copies through the physmap. */
  readonly ephemeral: EphemeralMapKind;
  readonly switchExit: AsiSwitchExit;
  /** ASI transitions write CR3 with NOFLUSH when the nonsensitive PCID is current by tlb_gen. */
  readonly noflush: boolean;
  /** User flushes of mms on 3+ CPUs by INVLPGB + TLBSYNC. */
  readonly invlpgb: boolean;
  /** guest_memfd's direct-map strategy (issue 8); 'none' when the variant names none. */
  readonly gmem?: GmemStrategyName;
  /** A user design's name (its policies replace the base's: src/kernel/design/); absent for a built-in variant. */
  readonly design?: string;
}

/** guest_memfd's direct-map strategies (issue 8, src/kernel/gmem/strategy.ts). */
export type GmemStrategyName = 'per-folio' | 'no-flush' | 'freetype';
export const GMEM_STRATEGIES: readonly GmemStrategyName[] = ['per-folio', 'no-flush', 'freetype'];

export const VARIANT_BASES = ['asi-off', 'asi-on', 'ipi', 'invlpgb'] as const;
export const VARIANT_PARTS = ['ephmap', 'mermap', 'exit-every-switch', 'exit-mm-change', 'noflush', 'invlpgb', 'per-folio', 'no-flush', 'freetype'] as const;

/** One line for `--help`. */
export const VARIANT_GRAMMAR = `base[+part...]: base ${VARIANT_BASES.join('|')}; parts ${VARIANT_PARTS.join(', ')} (e.g. asi-on+exit-mm-change+noflush)`;

export class VariantError extends Error {
  override name = 'VariantError';
}

export const ASI_OFF: Variant = {
  name: 'asi-off', asi: false, ephemeral: 'none', switchExit: 'every-switch', noflush: false, invlpgb: false,
};

const ASI_ONLY_PARTS: readonly string[] = ['ephmap', 'mermap', 'exit-every-switch', 'exit-mm-change', 'noflush'];

/**
 * Parses a --variant string: a registered user design's name, or the
 * built-in grammar. Throws VariantError with one line naming the bad token
 * and the valid ones.
 */
export function parseVariant(text: string): Variant {
  const user = userDesignNamed(text.trim());
  if (user !== undefined) return { ...parseBuiltinVariant(user.base), name: user.design.name, design: user.design.name };
  return parseBuiltinVariant(text);
}

/** Parses the built-in grammar only (base[+part...]). Throws VariantError. */
export function parseBuiltinVariant(text: string): Variant {
  const tokens = text.trim().split('+');
  // A guest_memfd strategy may stand first: its base is asi-off.
  if ((GMEM_STRATEGIES as readonly string[]).includes(tokens[0]!)) tokens.unshift('asi-off');
  const base = tokens[0]!;
  if (!(VARIANT_BASES as readonly string[]).includes(base)) {
    // Name the bad value once: a variant without '+' is its own base.
    const what = base === text ? `--variant "${text}"` : `--variant "${text}": base "${base}"`;
    // An ASI part given as a base (noflush, ephmap, ...): say what it needs,
    // not the whole grammar; a near-miss of a guest_memfd strategy (noflush
    // vs no-flush) gets that strategy named too.
    if (ASI_ONLY_PARTS.includes(base)) {
      const gmemTwin = GMEM_STRATEGIES.find((g) => g.replace('-', '') === base);
      throw new VariantError(`${what}: "${base}" is an ASI part and needs base asi-on (asi-on+${base}); of the parts only ${GMEM_STRATEGIES.join(', ')} may stand alone${gmemTwin !== undefined ? ` (or did you mean the guest_memfd strategy ${gmemTwin}?)` : ''}`);
    }
    const designs = userDesignNames();
    const more = designs.length > 0 ? `, or a loaded design: ${designs.join(', ')}` : '';
    throw new VariantError(`${what} is not one of: ${VARIANT_BASES.join(', ')} (then +parts: ${VARIANT_PARTS.join(', ')})${more}`);
  }
  const parts = new Set<string>();
  for (const p of tokens.slice(1)) {
    if (!(VARIANT_PARTS as readonly string[]).includes(p)) {
      throw new VariantError(`--variant "${text}": part "${p}" is not one of ${VARIANT_PARTS.join(', ')}`);
    }
    if (parts.has(p)) throw new VariantError(`--variant "${text}": part "${p}" is given twice`);
    parts.add(p);
  }
  const asi = base === 'asi-on';
  if (!asi) {
    const bad = [...parts].find((p) => ASI_ONLY_PARTS.includes(p));
    if (bad !== undefined) throw new VariantError(`--variant "${text}": part "${bad}" needs base asi-on`);
  }
  if (parts.has('ephmap') && parts.has('mermap')) throw new VariantError(`--variant "${text}": ephmap and mermap exclude each other`);
  if (parts.has('exit-every-switch') && parts.has('exit-mm-change')) {
    throw new VariantError(`--variant "${text}": exit-every-switch and exit-mm-change exclude each other`);
  }
  const invlpgb = base === 'invlpgb' || parts.has('invlpgb');
  const ephemeral: EphemeralMapKind = parts.has('ephmap') ? 'ephmap' : parts.has('mermap') ? 'mermap' : 'none';
  const switchExit: AsiSwitchExit = parts.has('exit-mm-change') ? 'mm-change' : 'every-switch';
  const noflush = parts.has('noflush');
  const gmems = GMEM_STRATEGIES.filter((g) => parts.has(g));
  if (gmems.length > 1) throw new VariantError(`--variant "${text}": ${gmems.join(' and ')} exclude each other (one guest_memfd strategy)`);
  const gmem = gmems[0];
  const name = [
    asi ? 'asi-on' : gmem !== undefined ? '' : 'asi-off',
    ...(ephemeral !== 'none' ? [ephemeral] : []),
    ...(parts.has('exit-every-switch') ? ['exit-every-switch'] : []),
    ...(parts.has('exit-mm-change') ? ['exit-mm-change'] : []),
    ...(noflush ? ['noflush'] : []),
    ...(gmem !== undefined ? [gmem] : []),
    ...(invlpgb ? ['invlpgb'] : []),
  ].filter((t) => t !== '').join('+');
  return { name, asi, ephemeral, switchExit, noflush, invlpgb, ...(gmem !== undefined ? { gmem } : {}) };
}
