import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { librarySpecifier, scenarioTemplate } from '../../src/cli/new-command.js';
import { runCli } from '../cli/helpers.js';

// A user's scenario module: `new scenario` writes one that runs as it is,
// `--scenario-file` loads it into run, soak and compare like a built-in, and
// a bad file is refused before any CPU starts.

const EXAMPLE = fileURLToPath(new URL('../../examples/map-unmap.mjs', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'shootdown-scenario-'));
}

describe('shootdown new scenario', () => {
  it('writes a template that runs clean under run, soak and compare, and catches a flush bug', () => {
    const dir = scratch();
    const made = runCli(['new', 'scenario', 'my-loop', '--dir', dir]);
    expect(made.code).toBe(0);
    const file = join(dir, 'my-loop.mjs');
    expect(made.stdout).toContain(file);
    // Outside any project 'shootdown' does not resolve: the template imports this build by URL.
    expect(readFileSync(file, 'utf8')).toContain("from 'file://");
    const run = runCli(['run', '--scenario-file', file, '--cpus', '4', '--ops', '150', '--format', 'json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.scenario).toBe('my-loop');
    expect(report.totals.ops).toBe(600);
    expect(report.totals.violations).toBe(0);
    // Every munmap shoots down the siblings: the template really exercises flushes.
    expect(report.totals.ipisSent).toBeGreaterThan(0);
    const soak = runCli(['soak', '--scenario-file', file, '--scenarios', 'my-loop', '--seeds', '1', '--seconds', '1', '--no-progress']);
    expect(soak.code).toBe(0);
    expect(soak.stdout).toMatch(/my-loop/);
    const cmp = runCli(['compare', 'my-loop', '--scenario-file', file, '--variant', 'asi-off,asi-on', '--samples', '1', '--ops', '60', '--format', 'json']);
    expect(cmp.code).toBe(0);
    expect(JSON.parse(cmp.stdout).scenario).toBe('my-loop');
    // A real shootdown bug is caught by the template as written.
    const bug = runCli(['run', '--scenario-file', file, '--cpus', '4', '--seconds', '2', '--inject', 'free-before-flush', '--format', 'json']);
    expect(bug.code).toBe(1);
    expect(JSON.parse(bug.stdout).totals.violations).toBeGreaterThan(0);
  });

  it('examples/map-unmap.mjs is the template: `new scenario` writes it with the name and import replaced', () => {
    expect(librarySpecifier(REPO)).toBe('shootdown');
    expect(readFileSync(EXAMPLE, 'utf8')).toBe(scenarioTemplate('map-unmap', 'shootdown'));
    const other = scenarioTemplate('my-loop', 'file:///x/api.js');
    expect(other).toMatch(/^\/\/ my-loop: a shootdown scenario \(written by `shootdown new scenario my-loop`\)/);
    expect(other).toContain("const NAME = 'my-loop';");
    expect(other).toContain("} from 'file:///x/api.js';");
    expect(other).not.toContain('map-unmap');
    const run = runCli(['run', '--scenario-file', EXAMPLE, '--cpus', '2', '--ops', '100']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/scenario map-unmap/);
  });

  it('refuses a bad name, a built-in name and an existing file with one line and exit 2', () => {
    const dir = scratch();
    for (const [args, msg] of [
      [['new', 'scenario', 'Bad_Name', '--dir', dir], /name "Bad_Name" is invalid/],
      [['new', 'scenario', 'tlb-flush2', '--dir', dir], /built-in scenario's name/],
      [['new', 'widget', 'x', '--dir', dir], /unknown kind "widget": use scenario/],
    ] as const) {
      const r = runCli([...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    expect(runCli(['new', 'scenario', 'twice', '--dir', dir]).code).toBe(0);
    const again = runCli(['new', 'scenario', 'twice', '--dir', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists: use --force/);
  });
});

describe('--scenario-file refuses a bad module before the run, with one line and exit 2', () => {
  const dir = scratch();
  const lib = new URL('../../dist/src/api.js', import.meta.url).href;
  const write = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const cases: [string, string | null, RegExp][] = [
    ['missing.mjs', null, /missing\.mjs: no such file/],
    ['syntax.mjs', 'export default {', /failed to load: SyntaxError/],
    ['throws.mjs', 'throw new Error("boom at load");', /failed to load: Error: boom at load/],
    ['empty.mjs', 'export const x = 1;', /exports no scenario/],
    ['noCreate.mjs', 'export default { name: "x-y", description: "d", optionNames: [] };', /create\(ctx\) must be a function/],
    ['badName.mjs', 'export default { name: "Has Space", description: "d", optionNames: [], create() {} };', /name "Has Space" is invalid/],
    ['clash.mjs', `import { defineMmScenario } from '${lib}';\nexport default defineMmScenario({ name: 'tlb-flush2', description: 'd', initThread() {}, step() {} });`, /"tlb-flush2" already exists/],
    ['notjs.txt', 'hello', /use an ES module ending in \.mjs or \.js/],
  ];
  for (const [name, text, msg] of cases) {
    it(name, () => {
      const f = text === null ? join(dir, name) : write(name, text);
      const r = runCli(['run', '--scenario-file', f, '--ops', '10']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^shootdown: --scenario-file /);
      expect(r.stderr).toMatch(msg);
    });
  }
});
