// `trace export --format chrome` checked by a real consumer: the trace
// engine of Chrome DevTools (npm @paulirish/trace_engine, the one Lighthouse
// uses) parses the exported JSON; it must find one thread per simulated CPU,
// named as we named it, holding exactly the spans we exported for that CPU.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/helpers.js';
import type { ChromeTrace } from '../../src/trace/chrome.js';

interface ParsedThread { name: string | null; entries: unknown[] }
interface AnalyzeModule {
  analyzeEvents(events: unknown[]): Promise<{ parsedTrace: { data: { Renderer: { processes: Map<number, { threads: Map<number, ParsedThread> }> }; Meta: { threadsInProcess: Map<number, Map<number, unknown>> } } } }>;
}

// A specifier in a variable: the package ships JavaScript without types.
const CONSUMER = '@paulirish/trace_engine/analyze-trace.mjs';

describe('trace export --format chrome', () => {
  it('loads in Chrome DevTools\' trace engine with one track per simulated CPU', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-chrome-'));
    const trc = join(dir, 't.trc');
    const json = join(dir, 't.json');
    const cpus = 3;
    const run = runCli(['run', 'fio-randread', '--variant', 'asi-on+ephmap', '--cpus', String(cpus), '--ops', '40', '--engine', 'serialized',
      '--no-progress', '--trace', trc, '--trace-mode', 'full']);
    expect(run.code, run.stderr).toBe(0);
    const exp = runCli(['trace', 'export', trc, '--format', 'chrome', '--out', json]);
    expect(exp.code, exp.stderr).toBe(0);
    const ours = JSON.parse(readFileSync(json, 'utf8')) as ChromeTrace;
    const spans = (tid: number): number => ours.traceEvents.filter((e) => e.ph === 'X' && e.tid === tid).length;

    const { analyzeEvents } = (await import(CONSUMER)) as AnalyzeModule;
    const { parsedTrace } = await analyzeEvents(ours.traceEvents);
    const processes = parsedTrace.data.Renderer.processes;
    expect([...processes.keys()]).toEqual([1]);
    const threads = processes.get(1)!.threads;
    expect([...threads.keys()].sort()).toEqual([0, 1, 2]);
    for (let cpu = 0; cpu < cpus; cpu++) {
      const t = threads.get(cpu)!;
      expect(t.name).toBe(`cpu ${cpu}`);
      // The engine keeps complete ("X") events as the track's entries.
      expect(spans(cpu)).toBeGreaterThan(0);
      expect(t.entries).toHaveLength(spans(cpu));
    }
    expect([...parsedTrace.data.Meta.threadsInProcess.get(1)!.keys()].sort()).toEqual([0, 1, 2]);
  }, 120_000);
});
