// The guest_memfd strategies in the --variant grammar (issue 8): a
// strategy may stand alone (its base is asi-off), names round-trip, and
// two strategies in one variant are refused with one line.
import { describe, expect, it } from 'vitest';
import { VariantError, parseVariant } from '../../src/kernel/variant.js';

describe('--variant per-folio|no-flush|freetype', () => {
  it.each(['per-folio', 'no-flush', 'freetype'] as const)('%s alone is asi-off with that strategy, spelt alone', (g) => {
    const v = parseVariant(g);
    expect(v.gmem).toBe(g);
    expect(v.asi).toBe(false);
    expect(v.name).toBe(g);
    expect(parseVariant(v.name)).toEqual(v);
  });

  it('combines with other parts and round-trips', () => {
    const v = parseVariant('asi-off+freetype+invlpgb');
    expect(v.name).toBe('freetype+invlpgb');
    expect(v.invlpgb).toBe(true);
    expect(parseVariant(v.name)).toEqual(v);
    expect(parseVariant('asi-off').gmem).toBeUndefined();
  });

  it('refuses two strategies at once', () => {
    expect(() => parseVariant('per-folio+freetype')).toThrow(VariantError);
    expect(() => parseVariant('per-folio+freetype')).toThrow(/per-folio and freetype exclude each other/);
  });

  it('an ASI part given alone says it needs asi-on, in one line, and names the strategy it is close to', () => {
    const msg = (t: string): string => { try { parseVariant(t); } catch (e) { return (e as Error).message; } return ''; };
    const m = msg('noflush');
    expect(m).toBe('--variant "noflush": "noflush" is an ASI part and needs base asi-on (asi-on+noflush); of the parts only per-folio, no-flush, freetype may stand alone (or did you mean the guest_memfd strategy no-flush?)');
    expect(msg('ephmap')).toMatch(/^--variant "ephmap": "ephmap" is an ASI part and needs base asi-on \(asi-on\+ephmap\); of the parts only per-folio, no-flush, freetype may stand alone$/);
    expect(msg('magic')).toMatch(/^--variant "magic" is not one of: asi-off, asi-on, ipi, invlpgb /);
    for (const t of ['noflush', 'ephmap', 'magic']) expect(msg(t)).not.toContain('\n');
  });
});
