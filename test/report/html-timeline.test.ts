// The HTML report's timeline, without a browser: trace kinds sorted into
// lanes tolerantly (a kind the page does not know is drawn as "other", not
// dropped), the short window at the end of a run, and the window around a
// violation with the access marked, from the MMU's own trace event or from
// the op the oracle's record names.
import { describe, expect, it } from 'vitest';
import { EVENT_NAMES } from '../../src/trace/events.js';
import { AROUND_VIOLATION, LANES, type TimelineEvent, WINDOW_EVENTS, laneOf, timelineView } from '../../src/report/html/timeline.js';
import { timelineOption } from '../../src/report/html/charts.js';

const ev = (cpu: number, op: number, kind: string, args = ''): TimelineEvent => ({ cpu, op, kind, args });

describe('timeline lanes', () => {
  it('every kind the trace emits today has a lane; IPIs, flushes, switches and CR3 writes are told apart', () => {
    const lanes = Object.fromEntries(Object.values(EVENT_NAMES).map((k) => [k, laneOf(k)]));
    expect(lanes).toMatchObject({
      'ipi-send': 'IPIs', 'ipi-run': 'IPIs', 'invlpg': 'flushes', 'invpcid': 'flushes', 'flush-all': 'flushes', 'flush-tlb': 'flushes',
      'switch-mm': 'context switches', 'cr3': 'CR3 writes', 'alloc': 'other', 'free': 'other', 'fault': 'other', 'violation': 'violation',
    });
    for (const lane of Object.values(lanes)) expect(LANES).toContain(lane);
  });

  it('kinds the trace may add later land in a lane by name, and unknown ones in "other"', () => {
    expect(laneOf('asi-exit')).toBe('asi exits');
    expect(laneOf('invlpgb')).toBe('flushes');
    expect(laneOf('tlbsync')).toBe('flushes');
    expect(laneOf('context-switch')).toBe('context switches');
    expect(laneOf('event 77')).toBe('other');
    expect(laneOf('mermap-wrap')).toBe('other');
  });
});

describe('timeline window', () => {
  const long: TimelineEvent[] = [];
  for (let cpu = 0; cpu < 2; cpu++) for (let op = 0; op < 100; op++) long.push(ev(cpu, op, op % 2 ? 'ipi-send' : 'flush-tlb', `op ${op}`));

  it('without a violation: the last WINDOW_EVENTS of each CPU, events of one op spread across it', () => {
    const v = timelineView(long, null);
    expect(v.points).toHaveLength(2 * WINDOW_EVENTS);
    expect(Math.min(...v.points.map((p) => p.x))).toBeGreaterThanOrEqual(100 - WINDOW_EVENTS);
    expect(v.marked).toBeNull();
    expect(v.lanesUsed).toEqual(['IPIs', 'flushes']);
    expect(v.lanesEmpty).toContain('asi exits');
    const two = timelineView([ev(0, 5, 'alloc'), ev(0, 5, 'free')], null).points.map((p) => p.x);
    expect(two).toEqual([5.25, 5.75]);
  });

  it('a violation with its own trace event: that event marked, its CPU\'s events either side, other CPUs over the same ops', () => {
    const events = long.map((e) => (e.cpu === 1 && e.op === 50 ? ev(1, 50, 'violation', 'va 0x1000001000 pfn 7') : e));
    const v = timelineView(events, { kind: 'stale-tlb', cpu: 1, va: 0x1000001000, pfn: 7, op: 51 });
    expect(v.marked).not.toBeNull();
    expect(v.marked!.cpu).toBe(1);
    expect(v.marked!.label).toContain('violation va 0x1000001000');
    const mine = v.points.filter((p) => p.cpu === 1);
    expect(mine).toHaveLength(2 * AROUND_VIOLATION + 1);
    const others = v.points.filter((p) => p.cpu === 0);
    expect(Math.min(...others.map((p) => Math.floor(p.x)))).toBe(50 - AROUND_VIOLATION);
    expect(Math.max(...others.map((p) => Math.floor(p.x)))).toBe(50 + AROUND_VIOLATION);
    // Drawn as one red diamond with a line through its op.
    const option = timelineOption(v) as { series: { name: string; data: unknown[]; markLine?: unknown }[] };
    const red = option.series.filter((s) => s.name === 'violating access');
    expect(red).toHaveLength(1);
    expect(red[0]!.data).toHaveLength(1);
    expect(red[0]!.markLine).toBeDefined();
  });

  it('a violation found by a check that does not trace: placed at the end of the op its record names (record op - 1 in trace ops)', () => {
    const v = timelineView(long, { kind: 'stale-at-flush', cpu: 0, va: 0x5000, pfn: 3, op: 31 });
    expect(v.marked).not.toBeNull();
    expect(v.marked!.x).toBeCloseTo(30.95, 9);
    expect(v.marked!.label).toContain('stale-at-flush va 0x5000 pfn 3 (oracle record)');
    expect(v.window).toContain('op 30');
  });

  it('a violation older than the ring holds: the end of the run, and the page says why the mark is missing', () => {
    const v = timelineView(long.filter((e) => e.op >= 60), { kind: 'stale-tlb', cpu: 0, va: 0x5000, pfn: 3, op: 10 });
    expect(v.marked).toBeNull();
    expect(v.window).toContain('older than its CPU\'s trace ring holds');
  });
});
