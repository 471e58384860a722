// Chrome Trace Event Format (the JSON that chrome://tracing, Perfetto's UI
// and DevTools' trace engine read): one process for the machine, one thread
// (tid) per simulated CPU with thread_name metadata, every event an instant
// ("ph": "i", thread scope), and spans ("ph": "X") for what has a length:
// the time a CPU spends in the ASI restricted space (asi-enter to the next
// asi-exit) and the life of an ephemeral mapping (eph-map to the eph-unmap
// of the same address).
//
// Timestamps: the event's global sequence number, as microseconds. Under
// the serialized engine it is the exact order of events across CPUs (one
// CPU runs at a time), so the tracks line up as the run happened; under the
// free engine it is the approximate merge order of ring.ts. The op number
// of each event is in its args.

import { EV_ASI_ENTER, EV_ASI_EXIT, EV_EPH_MAP, EV_EPH_UNMAP, describeEvent } from './events.js';
import type { TraceFile } from './file.js';
import type { RawEvent } from './drain.js';
import { bySeqThenCpu } from './drain.js';

export interface ChromeTraceEvent {
  name: string;
  ph: 'i' | 'X' | 'M';
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  s?: 't';
  cat?: string;
  args: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: 'ns' | 'ms';
  otherData: Record<string, unknown>;
}

const PID = 1;

function kindName(t: TraceFile, kind: number): string {
  return t.header.kindNames[kind] || `event ${kind}`;
}

/** The Chrome trace of a trace file (events in merged order). */
export function toChromeTrace(t: TraceFile): ChromeTrace {
  const h = t.header;
  const out: ChromeTraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: PID, tid: 0, ts: 0, args: { name: `shootdown ${h.scenario} (${h.variant}, ${h.engine})` } },
  ];
  for (let cpu = 0; cpu < h.cpus; cpu++) {
    out.push({ name: 'thread_name', ph: 'M', pid: PID, tid: cpu, ts: 0, args: { name: `cpu ${cpu}` } });
    out.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid: cpu, ts: 0, args: { sort_index: cpu } });
  }
  const events = [...t.events].sort(bySeqThenCpu);
  // Open spans per CPU: the ASI restricted stretch, and ephemeral maps by address.
  const asiOpen = new Map<number, RawEvent>();
  const ephOpen = new Map<string, RawEvent>();
  const span = (open: RawEvent, close: RawEvent, name: string, cat: string): void => {
    out.push({
      name, ph: 'X', pid: PID, tid: open.cpu, ts: open.seq, dur: Math.max(1, close.seq - open.seq), cat,
      args: { op: open.op, until_op: close.op, from: describeEvent(open.kind, open.a, open.b, open.c), to: describeEvent(close.kind, close.a, close.b, close.c) },
    });
  };
  for (const e of events) {
    const name = kindName(t, e.kind);
    out.push({
      name, ph: 'i', s: 't', pid: PID, tid: e.cpu, ts: e.seq, cat: 'shootdown',
      args: { op: e.op, seq: e.seq, what: describeEvent(e.kind, e.a, e.b, e.c) },
    });
    if (e.kind === EV_ASI_ENTER) {
      asiOpen.set(e.cpu, e);
    } else if (e.kind === EV_ASI_EXIT) {
      const open = asiOpen.get(e.cpu);
      if (open !== undefined) span(open, e, 'asi restricted', 'asi');
      asiOpen.delete(e.cpu);
    } else if (e.kind === EV_EPH_MAP) {
      ephOpen.set(`${e.cpu}:${e.a}:${e.b}`, e);
    } else if (e.kind === EV_EPH_UNMAP) {
      const key = `${e.cpu}:${e.a}:${e.b}`;
      const open = ephOpen.get(key);
      if (open !== undefined) span(open, e, 'ephemeral map', 'ephemeral');
      ephOpen.delete(key);
    }
  }
  return {
    traceEvents: out,
    displayTimeUnit: 'ms',
    otherData: {
      tool: `shootdown ${h.toolVersion}`, scenario: h.scenario, cpus: h.cpus, engine: h.engine, mode: h.mode,
      replay: h.replay, ts: 'global event sequence number (1 us = 1 event)', lostPerCpu: t.end.lost,
    },
  };
}
