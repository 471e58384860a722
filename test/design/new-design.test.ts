// `shootdown new design NAME` writes the example design as a working
// template under NAME: it passes `run` as written.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/helpers.js';

describe('new design', () => {
  it('writes a commented template that runs clean under its own name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-new-design-'));
    const w = runCli(['new', 'design', 'my-ring', '--dir', dir]);
    expect(w.code).toBe(0);
    const file = join(dir, 'my-ring.mjs');
    expect(existsSync(file)).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\/\/ my-ring: a shootdown design/);
    expect(text).not.toContain('ephmap8-lazy');
    const r = runCli(['run', 'fio-randread', '--design', file, '--cpus', '2', '--ops', '100', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(rep['design']).toBe('my-ring');
    expect((rep['totals'] as Record<string, number>)['violations']).toBe(0);
  }, 30_000);

  it("refuses an existing file and a built-in variant's name", () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-new-design-'));
    expect(runCli(['new', 'design', 'my-ring', '--dir', dir]).code).toBe(0);
    const again = runCli(['new', 'design', 'my-ring', '--dir', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists: use --force/);
    const b = runCli(['new', 'design', 'invlpgb', '--dir', dir]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/"invlpgb" is a built-in variant's name/);
  }, 30_000);
});
