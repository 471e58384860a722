// examples/ephmap8-lazy.mjs under run, soak and compare against the
// built-in ephmap, oracle on; its broken copy (the wrap flush skipped) is
// caught on every seed tried. Through the built CLI, as a user runs them.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/helpers.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const GOOD = join(REPO, 'examples', 'ephmap8-lazy.mjs');
const BROKEN = join(REPO, 'examples', 'ephmap8-lazy-broken.mjs');

function json(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('example design ephmap8-lazy', () => {
  it('runs clean under run, with its name, file and ephemeral-map policy in the report, and flushes locally far less than it reads', () => {
    const r = runCli(['run', 'fio-randread', '--design', GOOD, '--cpus', '2', '--ops', '600', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = json(r.stdout);
    const t = rep['totals'] as Record<string, number>;
    expect(rep['variant']).toBe('ephmap8-lazy');
    expect(rep['design']).toBe('ephmap8-lazy');
    expect(rep['designBase']).toBe('asi-on+ephmap');
    expect(rep['designSource']).toBe(GOOD);
    expect(rep['designPolicies']).toContain('ephemeralMap=ring8-lazy-wrap');
    expect(rep['rerun']).toContain(`--design ${GOOD}`);
    expect(t['violations']).toBe(0);
    expect(rep['endCheck']).toEqual([]);
    // Every op is a read through the ring: one map per read, and a flush per 8.
    expect(t['ephmapMaps']).toBeGreaterThan(1000);
    expect(t['ops']).toBe(1200);
    expect(t['flushesLocal']).toBeLessThan(t['ephmapMaps']! / 4);
  }, 30_000);

  it('runs under soak', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-design-soak-'));
    const s = runCli(['soak', '--scenarios', 'fio-randread', '--design', GOOD, '--seeds', '1', '--seconds', '1', '--cpus', '2', '--out', dir]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/variant ephmap8-lazy/);
    expect(s.stdout).toMatch(/\| fio-randread \| +1 \| +1 \| +0 \|/);
    const summary = readFileSync(join(dir, 'summary.json'), 'utf8');
    expect(summary).toContain('ephmap8-lazy');
  }, 30_000);

  it('runs under compare beside the built-in ephmap', () => {
    const c = runCli(['compare', 'fio-randread', '--variant', `asi-on+ephmap,${GOOD}`, '--samples', '1', '--cpus', '2', '--ops', '200', '--format', 'json']);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const cmp = json(c.stdout);
    const local = (cmp['metrics'] as { name: string; variants: { variant: string; mean: number }[] }[]).find((m) => m.name === 'flushesLocalPerOp')!;
    expect(local.variants.map((v) => v.variant)).toEqual(['asi-on+ephmap', 'ephmap8-lazy']);
    // The built-in flushes at every put (about one per read); the ring once per 8 reads.
    expect(local.variants[1]!.mean).toBeLessThan(local.variants[0]!.mean / 3);
  }, 30_000);

  // Seeds 1..3, one run each (the README's rate line comes from more).
  it.each([1, 2, 3])('its broken copy (no flush at wrap) is caught by the oracle, seed %i', (seed) => {
    const r = runCli(['run', 'fio-randread', '--design', BROKEN, '--cpus', '2', '--ops', '100', '--seed', String(seed), '--format', 'json']);
    expect(r.code).toBe(1);
    const rep = json(r.stdout);
    expect(rep['design']).toBe('ephmap8-lazy-broken');
    expect((rep['totals'] as Record<string, number>)['violations']).toBeGreaterThan(0);
    const kinds = (rep['violationKinds'] as { kind: string; count: number }[]).map((k) => k.kind);
    expect(kinds).toContain('readback');
  }, 30_000);
});
