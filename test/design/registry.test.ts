// The design registry: every built-in variant is a design composed of the
// built-in policy objects, a user design inherits its base's objects for
// the points it leaves out, and each registered design (built-ins and the
// example) runs briefly and clean, with its name and policies in the
// report. Runs the built library (dist/), as a design module does.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EPHEMERAL_EPHMAP, EPHEMERAL_MERMAP, EPHEMERAL_NONE, EPHEMERAL_PHYSMAP, FLIP_LINUX, FLUSH_INVLPGB, FLUSH_IPI, LAZY_TLB_LINUX,
  BUILTIN_DESIGN_VARIANTS, builtinDesigns, loadDesignFile, parseVariant, registerDesign, resolveDesign, runScenario, userDesigns,
} from '../../dist/src/api.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(REPO, 'examples', 'ephmap8-lazy.mjs');
const API_URL = new URL('../../dist/src/api.js', import.meta.url).href;

describe('design registry', () => {
  it('each built-in variant is a composition of the built-in policy objects', () => {
    const byName = new Map(builtinDesigns().map((d) => [d.name, d]));
    expect([...byName.keys()]).toEqual([
      'asi-off', 'asi-off+invlpgb', 'asi-on', 'asi-on+exit-mm-change', 'asi-on+noflush', 'asi-on+ephmap', 'asi-on+mermap', 'asi-on+invlpgb',
    ]);
    expect(byName.get('asi-off')!.flush).toBe(FLUSH_IPI);
    expect(byName.get('asi-off+invlpgb')!.flush).toBe(FLUSH_INVLPGB);
    expect(byName.get('asi-off')!.ephemeralMap).toBe(EPHEMERAL_NONE);
    expect(byName.get('asi-on')!.ephemeralMap).toBe(EPHEMERAL_PHYSMAP);
    expect(byName.get('asi-on+ephmap')!.ephemeralMap).toBe(EPHEMERAL_EPHMAP);
    expect(byName.get('asi-on+mermap')!.ephemeralMap).toBe(EPHEMERAL_MERMAP);
    expect(byName.get('asi-on')!.asi.name).toBe('exit-every-switch');
    expect(byName.get('asi-on+exit-mm-change')!.asi.name).toBe('exit-mm-change');
    expect(byName.get('asi-on+noflush')!.asi.loadAsiCr3).not.toBe(byName.get('asi-on')!.asi.loadAsiCr3);
    for (const d of byName.values()) {
      expect(d.lazyTlb).toBe(LAZY_TLB_LINUX);
      expect(d.flip).toBe(FLIP_LINUX);
      expect(d.source).toBeNull();
    }
  });

  it('a user design keeps its base\'s policy objects where it gives none, and is refused under a built-in name', () => {
    registerDesign({ name: 'only-a-name', base: 'asi-on+mermap+invlpgb' });
    const d = resolveDesign(parseVariant('only-a-name'));
    expect(d.flush).toBe(FLUSH_INVLPGB);
    expect(d.ephemeralMap).toBe(EPHEMERAL_MERMAP);
    expect(d.base).toBe('asi-on+mermap+invlpgb');
    expect(parseVariant('only-a-name')).toMatchObject({ name: 'only-a-name', design: 'only-a-name', asi: true, ephemeral: 'mermap', invlpgb: true });
    expect(() => registerDesign({ name: 'invlpgb' })).toThrow(/is a built-in variant/);
    expect(() => registerDesign({ name: 'asi-on+ephmap' })).toThrow(/name "asi-on\+ephmap" is invalid/);
    expect(() => registerDesign({ name: 'x2', flush: { name: 'f', ceilingPages: 0, useBroadcast: () => false, broadcastKernel: false } }))
      .toThrow(/flush.ceilingPages 0 is invalid/);
  });

  it('lists the registered designs: the built-ins, then the loaded example', async () => {
    await loadDesignFile(EXAMPLE);
    const names = [...builtinDesigns().map((d) => d.name), ...userDesigns().filter((u) => u.source !== null).map((u) => u.design.name)];
    expect(names).toEqual([...BUILTIN_DESIGN_VARIANTS, 'ephmap8-lazy']);
  });

  // Each registered design briefly (one run each: the worker start-up dominates on a loaded host).
  it.each([...BUILTIN_DESIGN_VARIANTS, 'ephmap8-lazy'])('runs %s briefly: clean, with its name and policies in the report', async (name) => {
    await loadDesignFile(EXAMPLE);
    const r = await runScenario({ scenario: 'fio-randread', variant: name, cpus: 2, ops: 60 });
    const totals = r['totals'] as Record<string, number>;
    expect({ violations: totals['violations'], ops: totals['ops'] }).toEqual({ violations: 0, ops: 120 });
    expect(r['endCheck']).toEqual([]);
    expect(r['design']).toBe(name);
    const want = resolveDesign(parseVariant(name));
    expect(r['designPolicies']).toEqual([
      `flush=${want.flush.name}`, `lazyTlb=${want.lazyTlb.name}`, `asi=${want.asi.name}`, `ephemeralMap=${want.ephemeralMap.name}`, `flip=${want.flip.name}`,
    ]);
  }, 30_000);

  it('the kernel really calls a user design\'s flush policy (broadcasts from an asi-off design that only swaps the flush)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-design-'));
    const file = join(dir, 'bcast.mjs');
    writeFileSync(file, [
      `import { invlpgbMaskWorthIt } from '${API_URL}';`,
      "export default { name: 'bcast-flush', base: 'asi-off',",
      "  flush: { name: 'always-invlpgb', ceilingPages: 33, useBroadcast: invlpgbMaskWorthIt, broadcastKernel: true } };",
      '',
    ].join('\n'));
    await loadDesignFile(file);
    const user = await runScenario({ scenario: 'tlb-flush2', design: file, cpus: 4, ops: 250 });
    expect(user['design']).toBe('bcast-flush');
    expect(user['designSource']).toBe(file);
    expect((user['totals'] as Record<string, number>)['violations']).toBe(0);
    expect((user['totals'] as Record<string, number>)['invlpgb']).toBeGreaterThan(10);
  }, 30_000);

  it('... while the stock asi-off it is based on broadcasts nothing', async () => {
    const stock = await runScenario({ scenario: 'tlb-flush2', variant: 'asi-off', cpus: 4, ops: 250 });
    expect((stock['totals'] as Record<string, number>)['invlpgb']).toBe(0);
  }, 30_000);
});
