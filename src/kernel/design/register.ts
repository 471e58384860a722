// Checking a design's shape once, at the edge (a --design module, or
// registerDesign from the library), so the kernel can call its policies
// without checks: every policy present has every method, of the right
// kind, and the name and base are usable before any CPU starts.

import { parseBuiltinVariant, VariantError } from '../variant.js';
import { putUserDesign, userDesignNamed } from './registry.js';
import { type Design, POLICY_KEYS } from './types.js';

/** A design of the wrong shape: one line naming the field and what it should be. */
export class DesignShapeError extends Error {
  override name = 'DesignShapeError';
}

/** The members each policy must have: 'f' a function, 'n' a number, 'b' a boolean. */
const POLICY_MEMBERS: Record<(typeof POLICY_KEYS)[number], Record<string, 'f' | 'n' | 'b'>> = {
  flush: { ceilingPages: 'n', useBroadcast: 'f', broadcastKernel: 'b' },
  lazyTlb: { enterLazyTlb: 'f' },
  asi: {
    enabled: 'b', mmCreated: 'f', mmDestroyed: 'f', returnToUser: 'f', contextSwitch: 'f', beforeSwitchMmCr3: 'f',
    beforeFlush: 'f', beforeKernelFlush: 'f', slotFlushed: 'f', loadAsiCr3: 'f', loadSensitiveCr3: 'f',
  },
  ephemeralMap: { copyFromPageCache: 'f', copyUserPage: 'f', loseAccess: 'f' },
  flip: { rmqueueFlip: 'f' },
};
const KIND: Record<'f' | 'n' | 'b', string> = { f: 'function', n: 'number', b: 'boolean' };
const NAME_RE = /^[A-Za-z][A-Za-z0-9._-]{0,39}$/;

/**
 * Checks d and returns the canonical spelling of its base. Errors:
 * DesignShapeError (one line, prefixed with `where`): not an object, a bad
 * or built-in name, an unknown base, an unknown key, a policy missing a
 * member or with one of the wrong kind.
 */
export function checkDesign(d: unknown, where: string): string {
  if (d === null || typeof d !== 'object') throw new DesignShapeError(`${where}: a design must be an object, got ${d === null ? 'null' : typeof d}`);
  const o = d as Record<string, unknown>;
  const name = o['name'];
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new DesignShapeError(`${where}: name ${JSON.stringify(name)} is invalid: use 1-40 letters, digits, dots, dashes and underscores, starting with a letter`);
  }
  let builtinName = true;
  try {
    parseBuiltinVariant(name);
  } catch (e) {
    if (!(e instanceof VariantError)) throw e;
    builtinName = false;
  }
  if (builtinName) throw new DesignShapeError(`${where}: name "${name}" is a built-in variant: pick another`);
  for (const key of Object.keys(o)) {
    if (!['name', 'description', 'base', ...POLICY_KEYS].includes(key)) {
      throw new DesignShapeError(`${where}: unknown field "${key}": a design has name, description, base, ${POLICY_KEYS.join(', ')}`);
    }
  }
  if (o['description'] !== undefined && typeof o['description'] !== 'string') throw new DesignShapeError(`${where}: description must be a string`);
  const baseText = o['base'] ?? 'asi-off';
  if (typeof baseText !== 'string') throw new DesignShapeError(`${where}: base must be a --variant string such as "asi-on+ephmap"`);
  let base: string;
  try {
    base = parseBuiltinVariant(baseText).name;
  } catch (e) {
    if (e instanceof VariantError) throw new DesignShapeError(`${where}: base: ${e.message}`);
    throw e;
  }
  for (const key of POLICY_KEYS) {
    const p = o[key];
    if (p === undefined) continue;
    if (p === null || typeof p !== 'object') throw new DesignShapeError(`${where}: ${key} must be an object (a ${key} policy), got ${p === null ? 'null' : typeof p}`);
    const pol = p as Record<string, unknown>;
    if (typeof pol['name'] !== 'string' || pol['name'] === '') throw new DesignShapeError(`${where}: ${key}.name must be a non-empty string`);
    for (const [member, kind] of Object.entries(POLICY_MEMBERS[key])) {
      const t = typeof pol[member];
      if (t !== KIND[kind]) throw new DesignShapeError(`${where}: ${key}.${member} must be a ${KIND[kind]}, got ${t}`);
    }
  }
  if (o['flush'] !== undefined) {
    const c = (o['flush'] as Record<string, unknown>)['ceilingPages'] as number;
    if (!(Number.isInteger(c) && c >= 1 && c <= 4096)) throw new DesignShapeError(`${where}: flush.ceilingPages ${c} is invalid: use an integer 1..4096`);
  }
  return base;
}

/**
 * Registers a design (after checkDesign) so its name is a --variant value
 * in this thread. source: the module's file: URL, or null. A second
 * registration of the same name from another source is refused.
 */
export function registerDesign(d: Design, source: string | null = null, where = 'design'): Design {
  const base = checkDesign(d, where);
  const prev = userDesignNamed(d.name);
  if (prev !== undefined && prev.source !== source) {
    throw new DesignShapeError(`${where}: a design named "${d.name}" is already loaded${prev.source !== null ? ` from ${prev.source}` : ''}`);
  }
  putUserDesign({ design: d, base, source });
  return d;
}
