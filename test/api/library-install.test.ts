import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The library API as a user installs it: a fresh project installs this
// package by path, imports it and type-checks against its declarations
// (an npm install and a tsc run each: in npm run test:long,
// test/long-files.ts).

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(REPO, 'node_modules', '.bin', 'tsc');

describe('library API, installed in a fresh project', () => {
  it('a fresh project that installs the package by path imports it and type-checks against its declarations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-user-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', type: 'module', private: true }));
    execFileSync('npm', ['install', REPO, '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'pipe' });
    const out = execFileSync(process.execPath, ['-e',
      "import('shootdown').then(async (m) => { const r = await m.runScenario({ scenario: 'ipi-storm', cpus: 2, ops: 50 }); console.log(JSON.stringify({ fns: typeof m.runScenario + typeof m.defineMmScenario, ops: r.totals.ops })); })"],
    { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual({ fns: 'functionfunction', ops: 100 });
    // The README's library example reads the report's fields directly:
    // runScenario returns the typed RunReport, counters from COUNTER_NAMES.
    writeFileSync(join(dir, 'use.mts'), [
      "import { runScenario, compare, defineMmScenario, type RunReport, type Scenario } from 'shootdown';",
      "import assert from 'node:assert/strict';",
      "const s: Scenario = defineMmScenario({ name: 'x-y', description: 'd', initThread() {}, step() {} });",
      "const r: RunReport = await runScenario({ scenario: s.name, cpus: 2, ops: 10 });",
      'assert.equal(r.totals.violations, 0);',
      "const hits: number = r.totals.tlbHits + r.totals.framesLost + r.perCpu[0]!.counters.ipisSent + r.simElapsedMs;",
      "const kinds: string[] = [...r.violationRecords.map((v) => v.kind), ...r.violationKinds.map((k) => k.kind), r.design, ...r.designPolicies, ...r.options, r.variant];",
      "const { metrics, reports } = await compare({ scenario: 'fio-randread', variants: ['asi-off', './mine.mjs'], design: './d.mjs', samples: 3 });",
      "const first: number = reports.get('asi-off')![0]!.totals.asiExits + metrics.length;",
      'void hits; void kinds; void first;',
      '',
    ].join('\n'));
    // Node's own types (node:assert, as the README's example uses) come from this repository's @types/node.
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true,
        typeRoots: [join(REPO, 'node_modules', '@types')], types: ['node'],
      },
      files: ['use.mts'],
    }));
    execFileSync(TSC, ['-p', dir], { cwd: dir, stdio: 'pipe' });
    // And the checker has teeth: a wrong option type and a counter that
    // does not exist are errors (one tsc run, both reported).
    writeFileSync(join(dir, 'use.mts'), [
      "import { runScenario } from 'shootdown';",
      "void runScenario({ scenario: 'x', cpus: 'four' });",
      "const r = await runScenario({ scenario: 'x' });",
      'void r.totals.noSuchCounter;',
      '',
    ].join('\n'));
    let tscOut = '';
    try {
      execFileSync(TSC, ['-p', dir], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      tscOut = String((e as { stdout?: string }).stdout);
    }
    expect(tscOut).toMatch(/use\.mts\(2,.*TS2322/);
    expect(tscOut).toMatch(/use\.mts\(4,.*TS2339.*noSuchCounter/);
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
