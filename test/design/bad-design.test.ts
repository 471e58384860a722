// A bad --design (missing, syntax error, throws while loading, wrong
// shape) is refused with one line and exit 2 before any CPU starts, on
// run, soak and compare alike.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'shootdown-bad-design-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const CASES: [string, string, RegExp][] = [
  ['missing', join(dir, 'nope.mjs'), /^shootdown: --design .*nope\.mjs: no such file$/],
  ['a syntax error', file('syntax.mjs', 'export default {\n'), /^shootdown: --design .*syntax\.mjs failed to load: SyntaxError: /],
  ['a module that throws', file('throws.mjs', "throw new Error('boom while loading');\n"), /failed to load: Error: boom while loading$/],
  ['no export', file('none.mjs', 'export const x = 1;\n'), /exports no design: export default a Design/],
  ['a policy of the wrong shape', file('shape.mjs', "export default { name: 'bad-shape', flush: { name: 'f', ceilingPages: 33, useBroadcast: 1, broadcastKernel: false } };\n"),
    /flush\.useBroadcast must be a function, got number$/],
  ['an unknown field', file('field.mjs', "export default { name: 'bad-field', flsuh: {} };\n"), /unknown field "flsuh"/],
  ['a bad base', file('base.mjs', "export default { name: 'bad-base', base: 'asi-on+ephmapp' };\n"), /base: --variant "asi-on\+ephmapp": part "ephmapp" is not one of/],
];

describe('a bad --design', () => {
  it.each(CASES)('%s: one line, exit 2, no run', (_what, path, line) => {
    const r = runCli(['run', 'fio-randread', '--design', path, '--cpus', '2', '--ops', '50']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });

  it('is refused the same way by soak, and by compare as a --variant entry', () => {
    const bad = join(dir, 'syntax.mjs');
    const s = runCli(['soak', '--scenarios', 'fio-randread', '--design', bad, '--seeds', '1', '--seconds', '1']);
    expect(s.code).toBe(2);
    expect(s.stderr.trim().split('\n')).toHaveLength(1);
    const c = runCli(['compare', 'fio-randread', '--variant', `asi-on,${bad}`, '--samples', '1', '--ops', '50']);
    expect(c.code).toBe(2);
    expect(c.stderr.trim()).toMatch(/^shootdown: --design .*syntax\.mjs failed to load: SyntaxError/);
  });
});
