// Trace files (issue 10): the global sequence every event takes, and the
// main-thread drain that merges the CPUs' rings while they run.
import { describe, expect, it } from 'vitest';
import { createMachineMemory, defaultShape } from '../../native-layout/index.js';
import { lastEventsAllCpus, startSharedTraceNumbering, traceRings, usePerCpuTraceNumbering } from '../../src/trace/ring.js';
import { C } from '../../native-layout/counters.js';
import { TraceDrain } from '../../src/trace/drain.js';
import { TRACE_HEAD_STRIDE, TRACE_STRIDE } from '../../native-layout/fields.js';
import {
  EVENT_NAMES, EV_ALLOC, EV_ASI_EXIT, EV_CTX_SWITCH, EV_EPH_MAP, EV_IPI_ACK, EV_IPI_SEND, EV_LOCK_ACQUIRE, EV_TLB_FILL, EV_USER,
  EV_WALK, describeEvent,
} from '../../src/trace/events.js';

const machine = (traceEntries = 16) => createMachineMemory(defaultShape({ memBytes: 16 * 2 ** 20, cpus: 3, traceEntries }));

describe('the global trace sequence', () => {
  it('numbers events across CPUs in the order they were made', () => {
    const mem = machine();
    const rings = traceRings(mem);
    rings[2]!.emit(EV_USER, 1, 0, 0);
    rings[0]!.emit(EV_USER, 2, 0, 0);
    rings[1]!.emit(EV_USER, 3, 0, 0);
    rings[0]!.emit(EV_USER, 4, 0, 0);
    const d = new TraceDrain(mem, true);
    expect(d.finish().map((e) => [e.seq, e.cpu, e.a])).toEqual([[0, 2, 1], [1, 0, 2], [2, 1, 3], [3, 0, 4]]);
  });

  it('stays monotonic per CPU when another CPU writes back an older count (free-engine race)', () => {
    const mem = machine();
    const rings = traceRings(mem);
    for (let i = 0; i < 5; i++) rings[0]!.emit(EV_USER, i, 0, 0);
    mem.views.traceSeq[0] = 2; // a racing CPU stored a stale value
    rings[0]!.emit(EV_USER, 99, 0, 0);
    const seqs = new TraceDrain(mem, false).finish().filter((e) => e.cpu === 0).map((e) => e.seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('before a serialized schedule starts, each CPU numbers its own events; then the shared count goes on above them all', () => {
    const mem = machine();
    usePerCpuTraceNumbering(mem);
    const rings = traceRings(mem);
    rings[1]!.emit(EV_USER, 10, 0, 0);
    rings[1]!.emit(EV_USER, 11, 0, 0);
    rings[1]!.emit(EV_USER, 12, 0, 0);
    rings[0]!.emit(EV_USER, 20, 0, 0);
    startSharedTraceNumbering(mem);
    rings[0]!.emit(EV_USER, 21, 0, 0);
    rings[2]!.emit(EV_USER, 30, 0, 0);
    const got = new TraceDrain(mem, true).finish().map((e) => [e.seq, e.cpu, e.a]);
    // Boot numbers repeat across CPUs; the merge (seq, cpu) does not depend on which CPU booted first.
    expect(got).toEqual([[0, 0, 20], [0, 1, 10], [1, 1, 11], [2, 1, 12], [3, 0, 21], [4, 2, 30]]);
  });
});

describe('the drain', () => {
  it('hands out only events whose place in the order is settled, and everything at the end', () => {
    const mem = machine(64);
    const rings = traceRings(mem);
    const d = new TraceDrain(mem, true);
    rings[0]!.emit(EV_USER, 1, 0, 0);
    rings[1]!.emit(EV_USER, 2, 0, 0);
    // Nothing yet: numbers taken after the previous poll may still have an emit in flight.
    expect(d.poll()).toEqual([]);
    rings[2]!.emit(EV_USER, 3, 0, 0);
    expect(d.poll().map((e) => e.a)).toEqual([1, 2]);
    expect(d.finish().map((e) => e.a)).toEqual([3]);
    expect(d.written).toEqual([1, 1, 1]);
    expect(d.lost).toEqual([0, 0, 0]);
  });

  it('under the serialized engine, holds the output at a gap (an emit in flight) instead of writing around it', () => {
    const mem = machine(64);
    const rings = traceRings(mem);
    const d = new TraceDrain(mem, true);
    rings[0]!.emit(EV_USER, 1, 0, 0); // seq 0
    // CPU 1 took seq 1 and has not bumped its head yet: simulate by taking the number only.
    mem.views.traceSeq[0] = 2;
    rings[2]!.emit(EV_USER, 3, 0, 0); // seq 2
    d.poll();
    expect(d.poll().map((e) => e.seq)).toEqual([0]);
    // The late emit lands: its ring entry appears with seq 1.
    const entries = mem.layout.shape.traceEntries;
    mem.views.trace.set([EV_USER, 2, 0, 0, 1], 1 * entries * TRACE_STRIDE);
    mem.views.traceHead[1 * TRACE_HEAD_STRIDE] = 1;
    expect(d.poll().map((e) => [e.seq, e.a])).toEqual([[1, 2], [2, 3]]);
  });

  it('counts the events a CPU overwrote before the drain read them, per CPU', () => {
    const mem = machine(8);
    const rings = traceRings(mem);
    const d = new TraceDrain(mem, false);
    for (let i = 0; i < 20; i++) rings[1]!.emit(EV_USER, i, 0, 0);
    rings[0]!.emit(EV_USER, 100, 0, 0);
    const all = [...d.poll(), ...d.finish()];
    expect(d.lost).toEqual([0, 12, 0]);
    expect(all.filter((e) => e.cpu === 1).map((e) => e.a)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((x, y) => x - y));
  });

  it('ring mode reads only the last ring of each CPU at the end, with op numbers widened past 24 bits', () => {
    const mem = machine(8);
    const rings = traceRings(mem);
    mem.views.counters[C.ops] = 2 ** 24 + 5; // CPU 0's op counter
    for (let i = 0; i < 10; i++) rings[0]!.emit(EV_USER, i, 0, 0);
    const d = new TraceDrain(mem, false);
    const got = d.finishRingOnly();
    expect(got.map((e) => e.a)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(got.every((e) => e.op === 2 ** 24 + 5)).toBe(true);
    expect(d.lost).toEqual([2, 0, 0]);
  });
});

describe('event kinds', () => {
  it('keeps kinds 1-13 and their names, and lastEventsAllCpus keeps its shape (the HTML timeline reads it)', () => {
    expect(EV_ALLOC).toBe(1);
    expect(EV_USER).toBe(13);
    expect(EVENT_NAMES[EV_IPI_SEND]).toBe('ipi-send');
    const mem = machine();
    traceRings(mem)[1]!.emit(EV_IPI_SEND, 2, 5, 0);
    expect(lastEventsAllCpus(mem, 4)).toEqual([{ cpu: 1, op: 0, kind: 'ipi-send', args: 'to cpu 2 func 5' }]);
  });

  it('names and describes every new kind (kinds after EV_USER, each with a distinct name)', () => {
    const names = Object.entries(EVENT_NAMES).filter(([k]) => Number(k) > EV_USER).map(([, v]) => v);
    expect(names).toEqual(['tlb-fill', 'walk', 'flush-range', 'invlpgb', 'tlbsync', 'flush-kernel', 'ipi-ack', 'lock-acquire',
      'lock-release', 'asi-enter', 'asi-exit', 'eph-map', 'eph-unmap', 'ctx-switch']);
    expect(describeEvent(EV_TLB_FILL, 0x200000, 0x10 | (1 << 16) | (1 << 20), 77)).toBe('va 0x1000200000 level 1 pfn 77 speculative');
    expect(describeEvent(EV_WALK, 0x1000, (1 << 16) | (1 << 17), -1)).toBe('va 0x1000 write user -> fault -1');
    expect(describeEvent(EV_IPI_ACK, 3, 2, 0)).toBe('from cpu 3 func 2');
    expect(describeEvent(EV_LOCK_ACQUIRE, 0x40, 1, 9)).toBe('spinlock @0x40 after 9 spins');
    expect(describeEvent(EV_ASI_EXIT, 3, 1, 0)).toBe('TLB_FLUSH mm 1');
    expect(describeEvent(EV_EPH_MAP, 0x200000, 0x8800 | (2 << 16), 5)).toBe('mermap va 0x880000200000 pfn 5');
    expect(describeEvent(EV_CTX_SWITCH, 1, 2, 3)).toBe('task 1 -> 2 mm 3');
    expect(describeEvent(EV_ALLOC, 7, 0 | ((1 + 5 + 1) << 8), 0xcc0)).toBe('pfn 7 order 0 ft movable/nonsensitive gfp 0xcc0');
  });
});
