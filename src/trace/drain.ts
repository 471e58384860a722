// Reading the per-CPU trace rings from the main thread while the CPUs run
// (trace files, issue 10), and merging the CPUs' streams into one sequence.
//
// The rings are written with plain stores and read here racily (see
// ring.ts): a CPU fills the entry, then bumps its head, so every entry
// behind a head read here is whole, unless the CPU has since lapped the
// ring and is overwriting it; the head is read again after the copy and
// whatever the CPU may have reached meanwhile is counted as lost instead.
//
// Merge order. Each event carries a global sequence number (ring.ts). The
// drain writes an event only once no event with a smaller number can still
// show up: the numbers taken before the previous poll began belong to events
// whose emit finished long ago (an emit is five stores), so they are all
// behind their heads by now. Under the serialized engine the numbers are
// dense, and the drain also waits for any gap below that mark to fill: an
// emit the host preempted between taking its number and bumping its head
// would otherwise be written late, and two runs of one replay line would
// give different bytes. Under the free engine a racy increment can repeat
// or skip numbers, so gaps are expected and not waited for; an event that
// arrives after its place was written goes out late (readers sort by
// (seq, cpu) anyway; `trace show` does).

import {
  COUNTERS_STRIDE, TRACE_HEAD_STRIDE, TRACE_SEQ_NEXT, TRACE_STRIDE, TR_A, TR_B, TR_C, TR_EVENT, TR_SEQ,
} from '../../native-layout/fields.js';
import { C } from '../../native-layout/counters.js';
import type { MachineMemory } from '../../native-layout/memory.js';

/** One drained event with its op and sequence numbers widened past 24 and 32 bits. */
export interface RawEvent {
  readonly cpu: number;
  readonly seq: number;
  readonly op: number;
  readonly kind: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

const OP_WRAP = 2 ** 24;
/** Polls a serialized-engine gap may hold the output back before it is skipped (a lost event, not a late one). */
const GAP_PATIENCE_POLLS = 400;

/** (seq, cpu) order: the merged timeline. */
export function bySeqThenCpu(x: RawEvent, y: RawEvent): number {
  return x.seq - y.seq || x.cpu - y.cpu;
}

/** Reads one ring entry; op and seq come back raw (24 and 32 bits). */
function readEntry(mem: MachineMemory, cpu: number, index: number): { op24: number; kind: number; a: number; b: number; c: number; seq32: number } {
  const entries = mem.layout.shape.traceEntries;
  const ring = mem.views.trace;
  const at = (cpu * entries + (index & (entries - 1))) * TRACE_STRIDE;
  const w = ring[at + TR_EVENT]!;
  return { op24: w >>> 8, kind: w & 0xff, a: ring[at + TR_A]!, b: ring[at + TR_B]!, c: ring[at + TR_C]!, seq32: ring[at + TR_SEQ]! };
}

/**
 * The drain of one machine's rings. poll() while the run goes on (every
 * few ms: a CPU that makes more than traceEntries events between two polls
 * loses the oldest), finish() once every CPU has stopped.
 */
export class TraceDrain {
  /** Events read so far per CPU (ring index of the next one). */
  private readonly next: number[];
  /** Last widened op number per CPU. */
  private readonly lastOp: number[];
  /** Per CPU: events lost to ring overwrite, events handed out. */
  readonly lost: number[];
  readonly written: number[];
  private pending: RawEvent[] = [];
  /** The sequence counter, widened (seqFull) and as last read (seqRaw). */
  private seqFull = 0;
  private seqRaw = 0;
  /** The widened counter at the previous poll: everything below it is visible now. */
  private mark = 0;
  /** Serialized engine: the next sequence number to hand out, and how long a gap has held it. */
  private nextSeq = 0;
  private gapPolls = 0;

  constructor(private readonly mem: MachineMemory, private readonly exact: boolean) {
    const cpus = mem.layout.shape.cpus;
    this.next = new Array<number>(cpus).fill(0);
    this.lastOp = new Array<number>(cpus).fill(0);
    this.lost = new Array<number>(cpus).fill(0);
    this.written = new Array<number>(cpus).fill(0);
    this.seqRaw = mem.views.traceSeq[TRACE_SEQ_NEXT]!;
    this.seqFull = this.seqRaw >>> 0;
  }

  /** Widens a 32-bit sequence number against the counter as last read (within 2^31 either side). */
  private widenSeq(seq32: number): number {
    return this.seqFull + ((seq32 - this.seqRaw) | 0);
  }

  private readSeqCounter(): void {
    const raw = this.mem.views.traceSeq[TRACE_SEQ_NEXT]!;
    this.seqFull += (raw - this.seqRaw) | 0;
    this.seqRaw = raw;
  }

  /** Copies every CPU's new entries into pending. */
  private collect(): void {
    const { mem } = this;
    const entries = mem.layout.shape.traceEntries;
    const heads = mem.views.traceHead;
    for (let cpu = 0; cpu < this.next.length; cpu++) {
      const head = heads[cpu * TRACE_HEAD_STRIDE]!;
      let from = this.next[cpu]!;
      if (head - from > entries) {
        this.lost[cpu]! += head - entries - from;
        from = head - entries;
      }
      const got: RawEvent[] = [];
      for (let i = from; i < head; i++) {
        const e = readEntry(mem, cpu, i);
        // Ops only grow on a CPU: widen forward from the last one seen.
        const op = this.lastOp[cpu]! + ((e.op24 - this.lastOp[cpu]!) & (OP_WRAP - 1));
        this.lastOp[cpu] = op;
        got.push({ cpu, seq: this.widenSeq(e.seq32), op, kind: e.kind, a: e.a, b: e.b, c: e.c });
      }
      // The CPU may have lapped us while we copied: entries it could have
      // overwritten since are not trusted.
      const after = heads[cpu * TRACE_HEAD_STRIDE]!;
      const torn = Math.max(0, after - entries - from);
      if (torn > 0) {
        got.splice(0, torn);
        this.lost[cpu]! += torn;
      }
      for (const e of got) this.pending.push(e);
      this.next[cpu] = head;
    }
  }

  /** Hands out pending events below `limit` in (seq, cpu) order; the rest stay. */
  private release(limit: number, force: boolean): RawEvent[] {
    this.pending.sort(bySeqThenCpu);
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.seq < limit) n++;
    if (this.exact && !force) {
      // Dense numbers: stop at the first gap (an emit still in flight),
      // unless it has stayed open so long that its event must be lost.
      // (Boot events repeat numbers across CPUs: see ring.ts.)
      let k = 0;
      let expect = this.nextSeq;
      while (k < n && this.pending[k]!.seq <= expect) { expect = Math.max(expect, this.pending[k]!.seq + 1); k++; }
      if (k < n) {
        if (++this.gapPolls < GAP_PATIENCE_POLLS && !this.lost.some((x) => x > 0)) n = k;
        else this.gapPolls = 0;
      } else {
        this.gapPolls = 0;
      }
    }
    const out = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    for (const e of out) this.written[e.cpu]! += 1;
    if (out.length > 0) this.nextSeq = out[out.length - 1]!.seq + 1;
    return out;
  }

  /** One poll while the run goes on: the events now safe to write, in order. */
  poll(): RawEvent[] {
    this.readSeqCounter();
    const limit = this.mark;
    this.collect();
    this.mark = this.seqFull;
    return this.release(limit, false);
  }

  /** After every CPU stopped: all that is left, in order. */
  finish(): RawEvent[] {
    this.readSeqCounter();
    this.collect();
    return this.release(Infinity, true);
  }

  /**
   * Ring mode: nothing read during the run; at the end, the last ring's
   * worth of every CPU (older events count as lost), in order.
   */
  finishRingOnly(): RawEvent[] {
    const { mem } = this;
    const entries = mem.layout.shape.traceEntries;
    const heads = mem.views.traceHead;
    for (let cpu = 0; cpu < this.next.length; cpu++) {
      const head = heads[cpu * TRACE_HEAD_STRIDE]!;
      const from = Math.max(0, head - entries);
      this.lost[cpu] = from;
      this.next[cpu] = from;
      // Widen ops backwards from the CPU's op counter: every event is older.
      const opsNow = mem.views.counters[cpu * COUNTERS_STRIDE + C.ops]!;
      const first = readEntry(mem, cpu, from);
      this.lastOp[cpu] = from < head ? opsNow - ((Math.floor(opsNow) - first.op24) & (OP_WRAP - 1)) : 0;
    }
    return this.finish();
  }
}
