// The x86-TSO store buffer (src/hw/store-buffer.ts) on the classic
// store-buffering litmus test (SB, "Dekker"): two CPUs, x = y = 0.
//
//   CPU 0            CPU 1
//   x = 1            y = 1
//   [smp_mb()]       [smp_mb()]
//   r0 = y           r1 = x
//
// Every interleaving of the two programs, with every point at which either
// buffer may commit its oldest store on its own, is run from scratch: the
// set of outcomes is exact, not sampled.
import { describe, expect, it } from 'vitest';
import { STORE_BUFFER_ENTRIES, StoreBuffer } from '../../src/hw/store-buffer.js';

const X = 0;
const Y = 1;

type Insn = 'st' | 'mb' | 'ld';
/** A scheduling choice: CPU c runs its next instruction, or its buffer commits its oldest store. */
type Action = { cpu: number; kind: 'run' | 'commit' };

function program(fence: boolean): Insn[] {
  return fence ? ['st', 'mb', 'ld'] : ['st', 'ld'];
}

/** Runs a schedule prefix on a fresh machine; returns what is enabled next and the loads so far. */
function replay(fence: boolean, schedule: readonly Action[]): { enabled: Action[]; r: number[] } {
  const mem = new Int32Array(new SharedArrayBuffer(8));
  const sb = [new StoreBuffer(mem), new StoreBuffer(mem)];
  const pc = [0, 0];
  const r = [-1, -1];
  const prog = program(fence);
  const mine = [X, Y];
  const theirs = [Y, X];
  for (const a of schedule) {
    const b = sb[a.cpu]!;
    if (a.kind === 'commit') {
      b.commitOldest();
      continue;
    }
    const insn = prog[pc[a.cpu]!++]!;
    if (insn === 'st') b.store(mine[a.cpu]!, 1);
    else if (insn === 'mb') b.drain();
    else r[a.cpu] = b.load(theirs[a.cpu]!);
  }
  const enabled: Action[] = [];
  for (let c = 0; c < 2; c++) {
    if (pc[c]! < prog.length) enabled.push({ cpu: c, kind: 'run' });
    if (sb[c]!.pending > 0) enabled.push({ cpu: c, kind: 'commit' });
  }
  return { enabled, r };
}

function outcomes(fence: boolean): Set<string> {
  const seen = new Set<string>();
  const explore = (schedule: Action[]): void => {
    const { enabled, r } = replay(fence, schedule);
    if (enabled.length === 0) {
      seen.add(`r0=${r[0]} r1=${r[1]}`);
      return;
    }
    for (const a of enabled) explore([...schedule, a]);
  };
  explore([]);
  return seen;
}

describe('store buffer: the store-buffering litmus test', () => {
  it('without a fence both CPUs may read the old value (the one reordering x86-TSO allows)', () => {
    const o = outcomes(false);
    expect(o.has('r0=0 r1=0')).toBe(true);
    expect(o).toEqual(new Set(['r0=0 r1=0', 'r0=0 r1=1', 'r0=1 r1=0', 'r0=1 r1=1']));
  });

  it('with smp_mb() between store and load, at least one CPU sees the other\'s store', () => {
    const o = outcomes(true);
    expect(o.has('r0=0 r1=0')).toBe(false);
    expect(o).toEqual(new Set(['r0=0 r1=1', 'r0=1 r1=0', 'r0=1 r1=1']));
  });
});

describe('store buffer: forwarding and draining', () => {
  const fresh = () => {
    const mem = new Int32Array(new SharedArrayBuffer(16));
    return { mem, sb: new StoreBuffer(mem) };
  };

  it('a CPU reads its own buffered store before anyone else can see it', () => {
    const { mem, sb } = fresh();
    sb.store(2, 7);
    sb.store(2, 8);
    expect(sb.load(2)).toBe(8);
    expect(mem[2]).toBe(0);
    sb.drain();
    expect(mem[2]).toBe(8);
    expect(sb.pending).toBe(0);
  });

  it('stores commit in program order (TSO keeps store-store order)', () => {
    const { mem, sb } = fresh();
    sb.store(0, 1);
    sb.store(1, 1);
    sb.commitOldest();
    expect([mem[0], mem[1]]).toEqual([1, 0]);
  });

  it('a full buffer commits its oldest store to take a new one', () => {
    const { mem, sb } = fresh();
    for (let i = 0; i < STORE_BUFFER_ENTRIES; i++) sb.store(0, i + 1);
    expect(mem[0]).toBe(0);
    sb.store(1, 5);
    expect(mem[0]).toBe(1);
    expect(sb.pending).toBe(STORE_BUFFER_ENTRIES);
    expect(sb.load(0)).toBe(STORE_BUFFER_ENTRIES);
  });

  it('a serializing instruction drains, keeping the stores invisible for drainDelayNs first', () => {
    const { mem, sb } = fresh();
    sb.drainDelayNs = 200_000;
    let seenDuring = -1;
    sb.serializeHook = () => { seenDuring = mem[3]!; };
    sb.store(3, 9);
    const t0 = performance.now();
    sb.serialize();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(0.2);
    expect(seenDuring).toBe(0);
    expect(mem[3]).toBe(9);
    expect(sb.delayedDrains).toBe(1);
  });

  it('a serializing instruction with nothing buffered does not wait', () => {
    const { sb } = fresh();
    sb.drainDelayNs = 1e9;
    sb.serialize();
    expect(sb.delayedDrains).toBe(0);
  });
});
