import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compare, runScenario } from '../../dist/src/api.js';

// The library API: a test suite runs scenarios and asserts on RunReports,
// and a fresh project that installs this package by path imports it, with
// types.

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(REPO, 'node_modules', '.bin', 'tsc');
const EXAMPLE = join(REPO, 'examples', 'map-unmap.mjs');

describe('library API', () => {
  it('runScenario returns the RunReport of a built-in scenario, and of a scenario file', async () => {
    const r = await runScenario({ scenario: 'tlb-flush2', cpus: 2, ops: 150 });
    expect(r['scenario']).toBe('tlb-flush2');
    const totals = r['totals'] as Record<string, number>;
    expect(totals['ops']).toBe(300);
    expect(totals['violations']).toBe(0);
    const bad = await runScenario({ scenarioFile: EXAMPLE, cpus: 4, seconds: 2, inject: ['free-before-flush'] });
    expect(bad['scenario']).toBe('map-unmap');
    expect((bad['totals'] as Record<string, number>)['violations']).toBeGreaterThan(0);
    expect((bad['violationRecords'] as unknown[]).length).toBeGreaterThan(0);
  });

  it('compare summarises each metric per variant against the first', async () => {
    const { metrics, reports } = await compare({ scenario: 'fio-randread', variants: ['asi-off', 'asi-on'], samples: 2, cpus: 2, ops: 100, profile: 'spr-ibpb' });
    expect(reports.get('asi-on')).toHaveLength(2);
    const exits = metrics.find((m) => m.name === 'asiExitsPerOp')!;
    expect(exits.variants.map((v) => v.variant)).toEqual(['asi-off', 'asi-on']);
    expect(exits.variants[0]!.mean).toBe(0);
    expect(exits.variants[1]!.mean).toBeGreaterThan(0.9);
    expect(exits.variants[1]!.verdict).toBe('worse');
  });

  it('rejects an unknown scenario or variant with the CLI\'s one-line message', async () => {
    await expect(runScenario({ scenario: 'no-such' })).rejects.toThrow(/unknown scenario "no-such": use one of/);
    await expect(runScenario({ scenario: 'tlb-flush2', variant: 'asi-of' })).rejects.toThrow(/variant/);
  });

  it('a fresh project that installs the package by path imports it and type-checks against its declarations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-user-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', type: 'module', private: true }));
    execFileSync('npm', ['install', REPO, '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'pipe' });
    const out = execFileSync(process.execPath, ['-e',
      "import('shootdown').then(async (m) => { const r = await m.runScenario({ scenario: 'ipi-storm', cpus: 2, ops: 50 }); console.log(JSON.stringify({ fns: typeof m.runScenario + typeof m.defineMmScenario, ops: r.totals.ops })); })"],
    { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual({ fns: 'functionfunction', ops: 100 });
    writeFileSync(join(dir, 'use.mts'), [
      "import { runScenario, defineMmScenario, type RunReportObject, type Scenario } from 'shootdown';",
      "const s: Scenario = defineMmScenario({ name: 'x-y', description: 'd', initThread() {}, step() {} });",
      "const r: Promise<RunReportObject> = runScenario({ scenario: s.name, cpus: 2, ops: 10 });",
      'void r;',
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: [] },
      files: ['use.mts'],
    }));
    execFileSync(TSC, ['-p', dir], { cwd: dir, stdio: 'pipe' });
    // And the checker has teeth: a wrong option type is an error.
    writeFileSync(join(dir, 'use.mts'), "import { runScenario } from 'shootdown';\nvoid runScenario({ scenario: 'x', cpus: 'four' });\n");
    expect(() => execFileSync(TSC, ['-p', dir], { cwd: dir, stdio: 'pipe' })).toThrow();
  }, 120_000);

  it('a fresh project writes a design against the installed package: it runs through runScenario, and its types are checked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-design-user-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-design', version: '1.0.0', type: 'module', private: true }));
    execFileSync('npm', ['install', REPO, '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'pipe' });
    writeFileSync(join(dir, 'ring.mjs'), [
      "import { EPHEMERAL_EPHMAP } from 'shootdown';",
      "export default { name: 'user-ring', base: 'asi-on+ephmap', ephemeralMap: { ...EPHEMERAL_EPHMAP, name: 'user-copy' } };",
      '',
    ].join('\n'));
    const out = execFileSync(process.execPath, ['-e',
      "import('shootdown').then(async (m) => { const r = await m.runScenario({ scenario: 'fio-randread', design: './ring.mjs', cpus: 2, ops: 40 }); console.log(JSON.stringify({ design: r.design, policies: r.designPolicies, violations: r.totals.violations })); })"],
    { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual({
      design: 'user-ring', violations: 0,
      policies: ['flush=ipi', 'lazyTlb=linux', 'asi=exit-every-switch', 'ephemeralMap=user-copy', 'flip=rmqueue-asi'],
    });
    // One tsc run checks both ways: the design type-checks, and the
    // directive fails the build unless a flush policy without its ceiling
    // is an error.
    writeFileSync(join(dir, 'design.mts'), [
      "import { FLUSH_IPI, type Design, type FlushPolicy } from 'shootdown';",
      "const flush: FlushPolicy = { ...FLUSH_IPI, name: 'ceiling-8', ceilingPages: 8 };",
      "export const design: Design = { name: 'ceiling8', base: 'asi-off', flush };",
      '// @ts-expect-error ceilingPages is missing',
      "export const bad: FlushPolicy = { name: 'x', useBroadcast: () => false, broadcastKernel: false };",
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: [] },
      files: ['design.mts'],
    }));
    execFileSync(TSC, ['-p', dir], { cwd: dir, stdio: 'pipe' });
  }, 120_000);
});
