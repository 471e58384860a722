import { describe, expect, it } from 'vitest';
import { ASI_OFF, VariantError, parseVariant } from '../../src/kernel/variant.js';

describe('--variant grammar base[+part...]', () => {
  it('asi-off is the default design: no ASI, IPIs, and ipi is its old name', () => {
    expect(parseVariant('asi-off')).toEqual(ASI_OFF);
    expect(parseVariant('ipi')).toEqual(ASI_OFF);
  });

  it('invlpgb works as a base (old spelling) and as a part', () => {
    expect(parseVariant('invlpgb')).toMatchObject({ asi: false, invlpgb: true, name: 'asi-off+invlpgb' });
    expect(parseVariant('asi-off+invlpgb')).toMatchObject({ asi: false, invlpgb: true });
    expect(parseVariant('asi-on+invlpgb')).toMatchObject({ asi: true, invlpgb: true });
  });

  it('asi-on defaults to the 2025 posting: exit on every switch, flushing CR3 writes, no ephemeral map', () => {
    expect(parseVariant('asi-on')).toEqual({
      name: 'asi-on', asi: true, ephemeral: 'none', switchExit: 'every-switch', noflush: false, invlpgb: false,
    });
  });

  it('parts combine in any order into one canonical name', () => {
    const v = parseVariant('asi-on+noflush+exit-mm-change+mermap');
    expect(v).toMatchObject({ asi: true, ephemeral: 'mermap', switchExit: 'mm-change', noflush: true });
    expect(v.name).toBe('asi-on+mermap+exit-mm-change+noflush');
    expect(parseVariant(v.name)).toEqual(v);
    expect(parseVariant('asi-on+ephmap').ephemeral).toBe('ephmap');
  });

  it('refuses a bad token with one line naming it and the valid ones', () => {
    const bad = (s: string): string => {
      try {
        parseVariant(s);
      } catch (e) {
        expect(e).toBeInstanceOf(VariantError);
        return (e as Error).message;
      }
      throw new Error(`${s} parsed`);
    };
    expect(bad('asi')).toMatch(/--variant "asi" is not one of: asi-off, asi-on, ipi, invlpgb/);
    expect(bad('asi-on+fast')).toMatch(/part "fast" is not one of ephmap, mermap, exit-every-switch, exit-mm-change, noflush, invlpgb/);
    expect(bad('asi-off+ephmap')).toMatch(/"ephmap" needs base asi-on/);
    expect(bad('asi-on+ephmap+mermap')).toMatch(/exclude each other/);
    expect(bad('asi-on+exit-mm-change+exit-every-switch')).toMatch(/exclude each other/);
    expect(bad('asi-on+noflush+noflush')).toMatch(/given twice/);
    for (const s of ['asi', 'asi-on+fast', 'asi-off+ephmap']) expect(bad(s)).not.toContain('\n');
  });
});
