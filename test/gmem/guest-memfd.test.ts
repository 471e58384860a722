// The guest-memfd scenario end to end (issue 8): the strategies run clean,
// the no-flush strategy and the injected bugs are caught, every recursion
// answer runs from a direct map of 1 GiB leaves, the recursion without an
// answer is reported (not hung), and the unmapped freetype flushes at
// least 100 times less per GiB faulted in than the per-folio zap.
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/helpers.js';

interface Report {
  totals: Record<string, number>;
  violationKinds: { kind: string; count: number }[];
  durationMs: number;
  stoppedBy: string;
  lockdep?: string;
}

function run(args: string[], timeoutMs = 60_000): { code: number; j: Report; stderr: string } {
  const r = runCli(['run', 'guest-memfd', '--no-progress', '--format', 'json', ...args], timeoutMs);
  return { code: r.code, j: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

const kinds = (j: Report): string[] => j.violationKinds.map((v) => v.kind);
/** Kernel-range flushes of the direct map per GiB of guest memory faulted in. */
const flushesPerGiB = (t: Record<string, number>): number => t['gmemKernelFlushes']! / ((t['gmemFaults']! * 4096) / 2 ** 30);

describe('guest-memfd', () => {
  it('per-folio and freetype run clean; freetype does >= 100x fewer kernel-range flushes per GiB faulted', () => {
    const a = run(['--cpus', '4', '--ops', '400', '--variant', 'per-folio']);
    expect(a.code).toBe(0);
    expect(a.j.totals['violations']).toBe(0);
    const b = run(['--cpus', '4', '--ops', '400', '--variant', 'freetype']);
    expect(b.code).toBe(0);
    expect(b.j.totals['violations']).toBe(0);
    // Per-folio flushes once per fault; splits reached 4 KiB from a 1 GiB leaf.
    expect(a.j.totals['gmemFaults']).toBeGreaterThan(100);
    expect(a.j.totals['gmemKernelFlushes']).toBe(a.j.totals['gmemFaults']);
    expect(a.j.totals['directMapSplits']).toBeGreaterThanOrEqual(2);
    expect(a.j.totals['directMapRestores']).toBeGreaterThan(0);
    expect(a.j.totals['directMapRestoreWarns']).toBe(0);
    expect(b.j.totals['gmemFaults']).toBeGreaterThan(100);
    expect(b.j.totals['gmemKernelFlushes']).toBeGreaterThan(0);
    expect(flushesPerGiB(a.j.totals) / flushesPerGiB(b.j.totals)).toBeGreaterThanOrEqual(100);
    // Both migrated pages through the VM owner's mermap (one copy each), and the guest read its data back.
    expect(a.j.totals['pageCopies']).toBeGreaterThan(0);
    expect(b.j.totals['pageCopies']).toBeGreaterThan(0);
  }, 90_000);

  it('no-flush: a host CPU reads guest memory through a stale direct-map entry (gmem-direct-map)', () => {
    const r = run(['--cpus', '4', '--seconds', '4', '--variant', 'no-flush', '--seed', '500']);
    expect(r.code).toBe(1);
    expect(kinds(r.j)).toContain('gmem-direct-map');
    expect(r.j.totals['gmemKernelFlushes']).toBe(0);
  }, 60_000);

  it.each([
    ['refuse', (t: Record<string, number>) => expect(t['recursionRefusals']).toBeGreaterThanOrEqual(1)],
    ['prealloc', (t: Record<string, number>) => {
      expect(t['recursionRefusals']).toBe(0);
      expect(t['pageTablesForDirectMap']).toBeGreaterThanOrEqual(2);
    }],
    ['4k', (t: Record<string, number>) => {
      expect(t['recursionRefusals']).toBe(0);
      expect(t['directMapSplits']).toBeGreaterThanOrEqual(513);
      expect(t['pageTablesForDirectMap']).toBeGreaterThanOrEqual(513);
    }],
  ] as const)('recursion=%s runs freetype clean from 1 GiB leaves', (answer, expectCost) => {
    const r = run(['--cpus', '2', '--ops', '300', '--variant', 'freetype', '--option', `recursion=${answer}`, '--option', 'leaves=1g']);
    expect(r.code).toBe(0);
    expect(r.j.totals['violations']).toBe(0);
    expect(r.j.totals['gmemFaults']).toBeGreaterThan(0);
    expectCost(r.j.totals);
  }, 60_000);

  it('without an answer (--inject recursive-split) lockdep reports the recursion, well before the time limit', () => {
    const r = run(['--cpus', '4', '--seconds', '20', '--variant', 'freetype', '--inject', 'recursive-split'], 60_000);
    expect(r.code).toBe(1);
    expect(kinds(r.j)).toContain('lock-order');
    expect(r.j.lockdep).toMatch(/asi-flip while holding asi-flip > direct-map/);
    expect(r.j.durationMs).toBeLessThan(10_000);
  }, 60_000);

  it.each([
    ['gmem-skip-flush', 'gmem-direct-map'],
    ['restore-after-free', 'direct-map-hole'],
  ])('--inject %s is caught (%s)', (bug, kind) => {
    const r = run(['--cpus', '4', '--seconds', '4', '--variant', 'per-folio', '--seed', '500', '--inject', bug]);
    expect(r.code).toBe(1);
    expect(kinds(r.j)).toContain(kind);
  }, 60_000);

  it('bad input is one line and exit 2', () => {
    const a = runCli(['run', 'guest-memfd', '--variant', 'per-folio+freetype', '--ops', '1']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/per-folio and freetype exclude each other/);
    const b = runCli(['run', 'guest-memfd', '--option', 'recursion=turtles', '--ops', '1']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/recursion=turtles is invalid: use one of refuse, prealloc, 4k/);
    const c = runCli(['run', 'guest-memfd', '--inject', 'recursive-split', '--variant', 'per-folio', '--ops', '1']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/needs --variant freetype/);
    // A bug of another scenario's paths, and an answer the bug would silently switch off.
    const d = runCli(['run', 'guest-memfd', '--inject', 'mshare-host-cpumask-only', '--ops', '1']);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/mshare-host-cpumask-only lives in the mshare scenario's paths .*this run is guest-memfd/);
    const e = runCli(['run', 'mshare', '--inject', 'gmem-skip-flush', '--ops', '1']);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/gmem-skip-flush lives in the guest-memfd scenario's paths/);
    const f = runCli(['run', 'guest-memfd', '--variant', 'freetype', '--inject', 'recursive-split', '--option', 'recursion=4k', '--ops', '1']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/recursive-split removes every recursion answer: drop --option recursion=4k/);
    // A guest_memfd strategy on a scenario without guest_memfd would run clean and name itself.
    const g = runCli(['run', 'mshare', '--variant', 'freetype', '--ops', '1']);
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/--variant freetype: mshare has no guest_memfd/);
  }, 90_000);
});
