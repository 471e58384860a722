// `npm start` is the headline job: the ASI comparison on fio randread that
// the README opens with. Runs the start script's command line exactly (the
// build the test script made is already in dist/).
import { existsSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };

describe('npm start', () => {
  it('prints the comparison table with the published shape: asi-on about -70%, asi-on+ephmap about -13.1%, both worse; says where the HTML report went', () => {
    const start = pkg.scripts['start']!;
    expect(start).toMatch(/^node dist\/cli\.js compare fio-randread /);
    const args = start.replace(/^node dist\/cli\.js /, '').split(' ');
    // In a fresh directory: the HTML report's path is relative to where npm start runs.
    const cwd = mkdtempSync(join(tmpdir(), 'npm-start-'));
    const r = runCli(args, 120_000, cwd);
    // stderr holds one line: where the HTML report went, as an absolute path.
    expect(r.stderr).toBe(`HTML report: ${join(realpathSync(cwd), 'shootdown-report.html')}\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/readsPerSimSecond \(reads\/sim-s, higher is better\)/);
    expect(r.stdout).toMatch(/\| variant +\| samples \| mean +\| ±stddev \| min +\| max +\| delta +\|/);
    const delta = (variant: string): number => {
      const row = r.stdout.split('\n').find((l) => l.startsWith(`| ${variant} `))!;
      const m = /(-?\d+(\.\d+)?)% worse/.exec(row);
      expect(m, `no delta in the ${variant} row: ${row}`).not.toBeNull();
      return Number(m![1]);
    };
    expect(delta('asi-on')).toBeGreaterThanOrEqual(-75);
    expect(delta('asi-on')).toBeLessThanOrEqual(-65);
    expect(delta('asi-on+ephmap')).toBeGreaterThanOrEqual(-18.1);
    expect(delta('asi-on+ephmap')).toBeLessThanOrEqual(-8.1);
    const html = /^HTML report: (\S+)$/m.exec(r.stderr);
    expect(html, 'no "HTML report:" line').not.toBeNull();
    expect(isAbsolute(html![1]!)).toBe(true);
    expect(existsSync(html![1]!)).toBe(true);
    expect(readFileSync(html![1]!, 'utf8')).toContain('<table class="metric" data-metric="readsPerSimSecond">');
    expect(r.stdout).not.toContain('HTML report:');
  });
});
