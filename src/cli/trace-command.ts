// `shootdown trace show FILE [--cpu N] [--around WHERE] [--context N] [--kind K,...] [--format text|json]`
// and `shootdown trace export FILE --format chrome [--out F]`: read a trace
// file written by `run --trace` (src/trace/file.ts). A file that is empty,
// torn, corrupted or foreign is refused with one line naming it (exit 2).

import { readFileSync } from 'node:fs';
import { TraceFileError, decodeTraceFile, type TraceFile } from '../trace/file.js';
import { bySeqThenCpu, type RawEvent } from '../trace/drain.js';
import { EV_VIOLATION, describeEvent } from '../trace/events.js';
import { toChromeTrace } from '../trace/chrome.js';
import { UsageError } from './errors.js';
import { parseChoice, parseIntInRange } from './parse.js';
import { checkOutputFile, writeOutputFile } from './output-files.js';

export const TRACE_SHOW_FORMATS = ['text', 'json'] as const;
export const TRACE_EXPORT_FORMATS = ['chrome'] as const;

export interface TraceShowOptions {
  cpu?: string;
  around?: string;
  context: string;
  kind?: string;
  format: string;
}

export interface TraceExportOptions {
  format: string;
  out?: string;
}

/** Reads and checks a trace file; a UsageError naming it when it is not a complete one. */
export function loadTraceFile(cmd: string, file: string): TraceFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UsageError(`${cmd}: cannot read "${file}": ${(e as Error).message}`);
  }
  try {
    return decodeTraceFile(bytes);
  } catch (e) {
    if (e instanceof TraceFileError) throw new UsageError(`${cmd}: "${file}" ${e.message}`);
    throw e;
  }
}

/** --kind a,b: kind numbers by name (the file's own table), or one line naming the bad one. */
function parseKinds(text: string, t: TraceFile): Set<number> {
  const names = t.header.kindNames;
  const out = new Set<number>();
  for (const raw of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const k = names.indexOf(raw);
    if (k <= 0) throw new UsageError(`trace show: --kind "${raw}" is not an event kind: use ${names.filter((n) => n !== '').join(', ')}`);
    out.add(k);
  }
  if (out.size === 0) throw new UsageError('trace show: --kind is empty: name one or more event kinds, comma-separated');
  return out;
}

/**
 * --around: where to centre the window. A number is an op number (the
 * first event at that op, on --cpu if given); seq:N a sequence number;
 * "violation" the first violation event.
 */
function findCentre(text: string, events: readonly RawEvent[], cpu: number | null): number {
  const bad = (): never => {
    throw new UsageError(`trace show: --around "${text}" is invalid: use an op number (e.g. 120), seq:N or violation`);
  };
  let idx = -1;
  if (text === 'violation') {
    idx = events.findIndex((e) => e.kind === EV_VIOLATION);
    if (idx < 0) throw new UsageError('trace show: --around violation: this trace holds no violation event');
  } else if (text.startsWith('seq:')) {
    const n = Number(text.slice(4));
    if (!Number.isInteger(n) || n < 0) bad();
    idx = events.findIndex((e) => e.seq >= n);
  } else {
    if (!/^\d+$/.test(text)) bad();
    const op = Number(text);
    idx = events.findIndex((e) => e.op >= op && (cpu === null || e.cpu === cpu));
  }
  if (idx < 0) throw new UsageError(`trace show: --around ${text}: no event that late in this trace`);
  return idx;
}

function eventJson(t: TraceFile, e: RawEvent): Record<string, unknown> {
  return { seq: e.seq, cpu: e.cpu, op: e.op, kind: t.header.kindNames[e.kind] || `event ${e.kind}`, args: describeEvent(e.kind, e.a, e.b, e.c), a: e.a, b: e.b, c: e.c };
}

export function runTraceShow(file: string, o: TraceShowOptions, print: (t: string) => void): void {
  const format = parseChoice('--format', o.format, TRACE_SHOW_FORMATS);
  const t = loadTraceFile('trace show', file);
  const cpu = o.cpu !== undefined ? parseIntInRange('--cpu', o.cpu, 0, t.header.cpus - 1) : null;
  const context = parseIntInRange('--context', o.context, 0, 1_000_000);
  const kinds = o.kind !== undefined ? parseKinds(o.kind, t) : null;
  // The merged timeline: (seq, cpu). Exact under the serialized engine;
  // the free engine's approximate merge order otherwise (README).
  let events = [...t.events].sort(bySeqThenCpu);
  if (o.around !== undefined) {
    const at = findCentre(o.around, events, cpu);
    events = events.slice(Math.max(0, at - context), at + context + 1);
  }
  events = events.filter((e) => (cpu === null || e.cpu === cpu) && (kinds === null || kinds.has(e.kind)));
  const h = t.header;
  if (format === 'json') {
    print(JSON.stringify({ header: h, end: t.end, events: events.map((e) => eventJson(t, e)) }, null, 2));
    return;
  }
  const lost = t.end.lost.reduce((x, y) => x + y, 0);
  const lines = [
    `trace of ${h.scenario} (${h.variant}) on ${h.cpus} CPUs, ${h.engine} engine${h.engine === 'serialized' ? ` sched-seed ${h.schedSeed}` : ''}, ${h.mode} mode: ${t.events.length} events${lost > 0 ? `, ${lost} lost to ring overwrite` : ''}; stopped by ${t.end.stoppedBy}`,
    `order: ${h.engine === 'serialized' ? 'exact (one CPU ran at a time)' : 'approximate across CPUs (free engine: see README), exact per CPU'}`,
    `replay: ${h.replay}`,
    `${'seq'.padStart(8)}  cpu  ${'op'.padStart(8)}  ${'event'.padEnd(13)}  args`,
  ];
  for (const e of events) {
    lines.push(`${String(e.seq).padStart(8)}  ${String(e.cpu).padStart(3)}  ${String(e.op).padStart(8)}  ${(h.kindNames[e.kind] || `event ${e.kind}`).padEnd(13)}  ${describeEvent(e.kind, e.a, e.b, e.c)}`);
  }
  print(lines.join('\n'));
}

export async function runTraceExport(file: string, o: TraceExportOptions, print: (t: string) => void): Promise<void> {
  parseChoice('--format', o.format, TRACE_EXPORT_FORMATS);
  if (o.out !== undefined) checkOutputFile('--out', o.out);
  const t = loadTraceFile('trace export', file);
  const json = JSON.stringify(toChromeTrace(t));
  if (o.out === undefined) print(json);
  else await writeOutputFile(o.out, `${json}\n`);
}
