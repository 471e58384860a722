// Per-CPU trace rings in the SAB. Only the owner CPU writes its ring, with
// plain stores (no barrier: tracing must not change the memory ordering the
// emulator is testing); the main thread reads the rings after the CPUs have
// stopped, or racily for a hang dump, where a torn last entry is acceptable,
// or racily while the run goes on (src/trace/drain.ts), behind the head.
//
// Every event also takes a global sequence number from one shared word
// (traceSeq), read and bumped with plain accesses for the same reason. Under
// the serialized engine only the token holder runs, so the numbers are dense
// and exact: the merged order of the CPUs' streams is the order things
// happened. Under the free engine two CPUs can read the same value (or one
// can write back an older one): the number is then an approximate merge key,
// made monotonic per CPU by taking max(shared, this CPU's last + 1), so that
// each CPU's own events are always in their exact order.
//
// Before a serialized run's schedule starts, the CPUs boot at once (each
// loads its CR3, switches to its first mm); their order is the host's. So
// that two runs of one replay line still write the same numbers, each CPU
// numbers its events from its own last one meanwhile (perCpu mode), and
// the first token holder then restarts the shared count above every number
// taken (startSharedTraceNumbering). Each CPU's boot is deterministic, so
// the merge by (seq, cpu) is too.

import { C as C_ } from '../../native-layout/counters.js';
import {
  COUNTERS_STRIDE as COUNTERS_STRIDE_, TRACE_HEAD_STRIDE as TRACE_HEAD_STRIDE_, TRACE_SEQ_NEXT as TRACE_SEQ_NEXT_,
  TRACE_SEQ_PER_CPU as TRACE_SEQ_PER_CPU_, TRACE_STRIDE as TRACE_STRIDE_, TR_SEQ as TR_SEQ_,
} from '../../native-layout/fields.js';
import type { MachineMemory, MachineViews } from '../../native-layout/memory.js';
import { EVENT_NAMES, describeEvent } from './events.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const C = C_, COUNTERS_STRIDE = COUNTERS_STRIDE_, TRACE_HEAD_STRIDE = TRACE_HEAD_STRIDE_, TRACE_SEQ_NEXT = TRACE_SEQ_NEXT_,
  TRACE_SEQ_PER_CPU = TRACE_SEQ_PER_CPU_, TRACE_STRIDE = TRACE_STRIDE_, TR_SEQ = TR_SEQ_;

export class TraceRing {
  private readonly ring: Int32Array;
  private readonly heads: Int32Array;
  private readonly headAt: number;
  private readonly base: number;
  private readonly mask: number;
  /** The CPU's op counter (its engine loop keeps it): stamped on every event. */
  private readonly counters: Float64Array;
  private readonly opAt: number;
  private readonly seqWord: Int32Array;
  /** The sequence number of this CPU's last event from this thread (-1: none yet). */
  private lastSeq = -1;

  constructor(mem: MachineMemory, cpu: number) {
    const entries = mem.layout.shape.traceEntries;
    this.ring = mem.views.trace;
    this.heads = mem.views.traceHead;
    this.headAt = cpu * TRACE_HEAD_STRIDE;
    this.base = cpu * entries * TRACE_STRIDE;
    this.mask = entries - 1;
    this.counters = mem.views.counters;
    this.opAt = cpu * COUNTERS_STRIDE + C.ops;
    this.seqWord = mem.views.traceSeq;
  }

  /** Slow paths only: five stores, the sequence word and a head bump, no allocation. */
  emit(kind: number, a: number, b: number, c: number): void {
    const head = this.heads[this.headAt]!;
    const at = this.base + (head & this.mask) * TRACE_STRIDE;
    const r = this.ring;
    const s = this.seqWord;
    let seq: number;
    if (s[TRACE_SEQ_PER_CPU] !== 0) {
      seq = head > 0 ? (r[this.base + ((head - 1) & this.mask) * TRACE_STRIDE + TR_SEQ]! + 1) | 0 : 0;
    } else {
      seq = s[TRACE_SEQ_NEXT]!;
      // Wrap-safe "seq <= lastSeq": a racing CPU wrote back an older value.
      if (((seq - this.lastSeq) | 0) <= 0) seq = (this.lastSeq + 1) | 0;
      s[TRACE_SEQ_NEXT] = (seq + 1) | 0;
    }
    this.lastSeq = seq;
    r[at] = kind | (this.counters[this.opAt]! << 8);
    r[at + 1] = a;
    r[at + 2] = b;
    r[at + 3] = c;
    r[at + TR_SEQ] = seq;
    // The head moves last: a drain reading behind it sees whole entries
    // (x86 keeps stores in order; the drain reads the head first).
    this.heads[this.headAt] = head + 1;
  }
}

export interface TraceEvent {
  readonly cpu: number;
  /** Low 24 bits of the CPU's op number when it happened. */
  readonly op: number;
  readonly kind: string;
  readonly args: string;
}

/** The last n events of a CPU, oldest first. */
export function lastEvents(mem: MachineMemory, cpu: number, n: number): TraceEvent[] {
  const entries = mem.layout.shape.traceEntries;
  const head = mem.views.traceHead[cpu * TRACE_HEAD_STRIDE]!;
  const count = Math.min(n, head, entries);
  const out: TraceEvent[] = [];
  const ring = mem.views.trace;
  for (let i = head - count; i < head; i++) {
    const at = (cpu * entries + (i & (entries - 1))) * TRACE_STRIDE;
    const w = ring[at]!;
    const kind = w & 0xff;
    out.push({ cpu, op: w >>> 8, kind: EVENT_NAMES[kind] ?? `event ${kind}`, args: describeEvent(kind, ring[at + 1]!, ring[at + 2]!, ring[at + 3]!) });
  }
  return out;
}

/** The last n events of every CPU. */
export function lastEventsAllCpus(mem: MachineMemory, n: number): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (let cpu = 0; cpu < mem.layout.shape.cpus; cpu++) out.push(...lastEvents(mem, cpu, n));
  return out;
}

const ringsByMachine = new WeakMap<SharedArrayBuffer, TraceRing[]>();

/**
 * The ring writer of `cpu` that this thread already made for the machine
 * these views belong to, or null (code that has the views only: the oracle).
 */
export function traceRingOf(views: MachineViews, cpu: number): TraceRing | null {
  return ringsByMachine.get(views.trace.buffer as SharedArrayBuffer)?.[cpu] ?? null;
}

/**
 * This thread's ring writers for a machine, one per CPU, shared by every
 * layer that traces (hw, smp, allocator). A thread writes only the rings of
 * the CPUs it is acting as.
 */
export function traceRings(mem: MachineMemory): readonly TraceRing[] {
  let rings = ringsByMachine.get(mem.sab);
  if (!rings) {
    rings = [];
    for (let cpu = 0; cpu < mem.layout.shape.cpus; cpu++) rings.push(new TraceRing(mem, cpu));
    ringsByMachine.set(mem.sab, rings);
  }
  return rings;
}

/**
 * Serialized engine, main thread, before the scenario's set-up: every CPU
 * numbers its events from its own last one until startSharedTraceNumbering.
 */
export function usePerCpuTraceNumbering(mem: MachineMemory): void {
  mem.views.traceSeq[TRACE_SEQ_PER_CPU] = 1;
}

/**
 * The first token holder of a serialized run (every CPU calls it once it
 * holds the token; only the first finds work): the shared count restarts
 * above the last number of every CPU's ring.
 */
export function startSharedTraceNumbering(mem: MachineMemory): void {
  const s = mem.views.traceSeq;
  if (s[TRACE_SEQ_PER_CPU] === 0) return;
  const entries = mem.layout.shape.traceEntries;
  let next = 0;
  for (let cpu = 0; cpu < mem.layout.shape.cpus; cpu++) {
    const head = mem.views.traceHead[cpu * TRACE_HEAD_STRIDE]!;
    if (head === 0) continue;
    const last = mem.views.trace[(cpu * entries + ((head - 1) & (entries - 1))) * TRACE_STRIDE + TR_SEQ]!;
    next = Math.max(next, last + 1);
  }
  s[TRACE_SEQ_NEXT] = next;
  s[TRACE_SEQ_PER_CPU] = 0;
}
