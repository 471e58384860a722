// The HTML report in a real browser: Debian's chromium, headless, driven by
// playwright-core. A short comparison and a run with an injected bug are
// written with --html; each page is opened from file:// with the network
// unused, and must draw every chart (SVG marks with area), hold the JSON
// report's numbers in its tables, log no console error, and (the run)
// mark the violating access on its timeline.
//
// Needs /usr/bin/chromium (apt-get install chromium; .ci/run installs it).
// Without it the test fails saying so; SHOOTDOWN_SKIP_BROWSER=1 skips it.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetricSummary, tableRows } from '../../src/report/compare.js';
import { VIOLATION_COLOUR } from '../../src/report/html/charts.js';
import { runCli } from '../cli/helpers.js';

// SHOOTDOWN_CHROMIUM points the test at another binary (e.g. to see its message when the browser is missing).
const CHROMIUM = process.env['SHOOTDOWN_CHROMIUM'] ?? '/usr/bin/chromium';
const skip = process.env['SHOOTDOWN_SKIP_BROWSER'] === '1';

interface Loaded { page: Page; problems: string[] }

/** Opens a report page, collecting console errors, page errors and any request that is not file://. */
async function open(ctx: BrowserContext, file: string): Promise<Loaded> {
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => { if (!r.url().startsWith('file:')) problems.push(`network request: ${r.url()}`); });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, problems };
}

/** Per chart element: whether the page script drew it, and its SVG marks (filled paths with area; axes are stroked, legends are HTML). */
function chartMarks(page: Page): Promise<{ id: string; rendered: boolean; marks: number; fills: string[]; whiskerLines: number }[]> {
  return page.$$eval('[data-chart]', (els) => els.map((el) => {
    const filled = [...el.querySelectorAll('svg path')].filter((p) => {
      const f = p.getAttribute('fill');
      if (f === null || f === 'none' || f === 'transparent') return false;
      const b = (p as unknown as { getBBox(): { width: number; height: number } }).getBBox();
      return b.width * b.height > 0;
    });
    // Whiskers are the custom series' lines, stroked in WHISKER_STROKE (client.ts): three per variant.
    const whiskerLines = [...el.querySelectorAll('svg path')].filter((p) => p.getAttribute('stroke') === '#222').length;
    return { id: el.id, rendered: el.getAttribute('data-rendered') === '1', marks: filled.length, fills: filled.map((p) => p.getAttribute('fill')!.toLowerCase()), whiskerLines };
  }));
}

describe.skipIf(skip)('the HTML report in headless Chromium', () => {
  let ctx: BrowserContext;
  const dir = mkdtempSync(join(tmpdir(), 'html-report-'));

  // A missing browser fails each test with this one message (failed tests, not a failed hook: CI's count shows them).
  const missing = existsSync(CHROMIUM) ? null
    : `the HTML report test needs Debian's chromium at ${CHROMIUM}: apt-get install chromium (or set SHOOTDOWN_SKIP_BROWSER=1 to skip it)`;
  const needBrowser = (): void => { if (missing !== null) throw new Error(missing); };

  beforeAll(async () => {
    if (missing !== null) return;
    // A fresh profile directory per run: no state from an earlier browser.
    ctx = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'profile-')), {
      executablePath: CHROMIUM, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);

  afterAll(async () => { await ctx?.close(); });

  it('a comparison page draws every chart and holds the JSON report\'s numbers, with no console error', async () => {
    needBrowser();
    const html = join(dir, 'compare.html');
    const r = runCli(['compare', 'tlb-flush2', '--variant', 'asi-off,asi-on', '--samples', '2', '--ops', '100', '--cpus', '2',
      '--metric', 'loopsPerSimSecond,simElapsedMs,asiExitsPerOp,ipisPerOp', '--format', 'json', '--html', html]);
    // stdout is the JSON alone; where the page went is said on stderr.
    expect(r.stderr).toBe(`HTML report: ${html}\n`);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { metrics: MetricSummary[] };
    const { page, problems } = await open(ctx, html);
    const charts = await chartMarks(page);
    // One bar chart per metric that is not 0 everywhere, the exits stack, one timeline per variant.
    const drawn = json.metrics.filter((m) => m.variants.some((v) => v.mean !== 0 || v.max !== 0));
    expect(charts.map((c) => c.id).sort()).toEqual([
      ...drawn.map((m) => `chart-metric-${json.metrics.indexOf(m)}`), 'chart-exits', 'chart-timeline-0', 'chart-timeline-1',
    ].sort());
    for (const c of charts) {
      expect(c.rendered, `${c.id} was not drawn`).toBe(true);
      expect(c.marks, `${c.id} has no marks`).toBeGreaterThan(0);
    }
    // A bar per variant with a non-zero mean in each metric chart.
    for (const m of drawn) {
      const c = charts.find((x) => x.id === `chart-metric-${json.metrics.indexOf(m)}`)!;
      expect(c.marks).toBe(m.variants.filter((v) => v.mean !== 0).length);
      expect(c.whiskerLines, `${c.id}: min/max whiskers`).toBe(3 * m.variants.length);
    }
    for (const m of json.metrics) {
      const rows = await page.$$eval(`table[data-metric="${m.name}"] tbody tr`, (trs) => trs.map((tr) => ({
        variant: tr.getAttribute('data-variant'), verdict: tr.getAttribute('data-verdict'),
        text: [...tr.querySelectorAll('td')].map((td) => td.textContent),
        values: [...tr.querySelectorAll('td[data-value]')].map((td) => Number(td.getAttribute('data-value'))),
      })));
      expect(rows.map((x) => x.variant)).toEqual(m.variants.map((v) => v.variant));
      rows.forEach((row, i) => {
        const v = m.variants[i]!;
        expect(row.values).toEqual([v.samples, v.mean, v.stddev, v.min, v.max, v.deltaPct]);
        expect(row.verdict).toBe(v.verdict);
      });
      // The cells read as the terminal table does.
      expect(rows.map((x) => x.text)).toEqual(tableRows(m));
    }
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('a run with an injected bug marks the violating access on its per-CPU timeline', async () => {
    needBrowser();
    const html = join(dir, 'run.html');
    const r = runCli(['run', 'tlb-flush2-shared', '--inject', 'free-before-flush', '--ops', '40', '--cpus', '4', '--seed', '1',
      '--format', 'json', '--no-progress', '--html', html]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`HTML report: ${html}\n`);
    const report = JSON.parse(r.stdout) as { violationRecords: { kind: string; cpu: number; va: number }[] };
    expect(report.violationRecords.length).toBeGreaterThan(0);
    const first = report.violationRecords[0]!;
    const { page, problems } = await open(ctx, html);
    const box = await page.$eval('#violation', (el) => ({ cpu: el.getAttribute('data-cpu'), va: el.getAttribute('data-va'), text: el.textContent }));
    expect(box.cpu).toBe(String(first.cpu));
    expect(box.va).toBe(String(first.va));
    expect(box.text).toContain(first.kind);
    const note = await page.textContent('.note:has-text("Window:")');
    expect(note).toContain(`cpu ${first.cpu}'s`);
    expect(note).toContain('either side of the violating access');
    const charts = await chartMarks(page);
    const timeline = charts.find((c) => c.id === 'chart-timeline-0')!;
    expect(timeline.rendered).toBe(true);
    expect(timeline.marks).toBeGreaterThan(1);
    // The violating access: one mark in the violation colour, on the violating CPU's own row.
    const red = timeline.fills.filter((f) => f === VIOLATION_COLOUR || f === 'rgb(214,39,40)');
    expect(red).toHaveLength(1);
    const rows = await page.$$eval('#chart-timeline-0 svg text', (ts) => ts.map((t) => t.textContent));
    expect(rows).toContain(`cpu ${first.cpu} · violation`);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
