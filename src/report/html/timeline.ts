// The per-CPU timeline of the HTML report: trace events (src/trace, read
// through lastEventsAllCpus and stored in a report's Timeline) sorted into
// lanes by kind, over a short window: the last events of the run, or the
// events around the violating access when there was one. Kind names are
// matched tolerantly (the trace branch adds kinds): anything unknown goes in
// the "other" lane, so a new kind shows up instead of vanishing.

/** One trace event as a report stores it (proto TraceEvent). */
export interface TimelineEvent {
  readonly cpu: number;
  readonly op: number;
  readonly kind: string;
  readonly args: string;
}

export const LANES = ['IPIs', 'flushes', 'asi exits', 'context switches', 'other'] as const;
export type Lane = (typeof LANES)[number];

/**
 * The lane of an event kind. cr3 is a context switch's CR3 write (a flush
 * too unless NOFLUSH, but it is drawn where the switch is); flush-tlb,
 * invlpg, invpcid, invlpgb, tlbsync and flush-all are flushes; asi-* are
 * ASI transitions (asi-exit once the trace emits it).
 */
export function laneOf(kind: string): Lane {
  const k = kind.toLowerCase();
  if (k.startsWith('ipi') || k.includes('csd')) return 'IPIs';
  if (k.startsWith('asi')) return 'asi exits';
  if (k.includes('switch') || k === 'cr3' || k.includes('context')) return 'context switches';
  if (k.includes('flush') || k.includes('invlpg') || k.includes('invpcid') || k.includes('tlbsync')) return 'flushes';
  return 'other';
}

/** One drawn point: x is the CPU's op number, events within one op spread evenly across it. */
export interface TimelinePoint {
  readonly cpu: number;
  readonly lane: Lane;
  readonly x: number;
  readonly label: string;
  readonly violation: boolean;
}

export interface TimelineView {
  readonly cpus: number[];
  readonly points: TimelinePoint[];
  /** Lanes that have at least one point, in LANES order. */
  readonly lanesUsed: Lane[];
  /** Lanes with no event in the window (said on the page: e.g. no asi-exit trace event yet). */
  readonly lanesEmpty: Lane[];
  /** What the window is, in words. */
  readonly window: string;
  /** The marked violating access, when found in the rings. */
  readonly marked: TimelinePoint | null;
}

/** The violation the page marks: the oracle's record (proto ViolationRecord). */
export interface ViolationMark {
  readonly kind: string;
  readonly cpu: number;
  readonly va: number;
  readonly pfn: number;
}

/** Events per CPU in a window without a violation. */
export const WINDOW_EVENTS = 40;
/** Events either side of the violating access on its CPU. */
export const AROUND_VIOLATION = 20;

function byCpu(events: readonly TimelineEvent[]): Map<number, TimelineEvent[]> {
  const m = new Map<number, TimelineEvent[]>();
  for (const e of events) {
    if (!m.has(e.cpu)) m.set(e.cpu, []);
    m.get(e.cpu)!.push(e);
  }
  return m;
}

function spread(events: readonly TimelineEvent[], mark: TimelineEvent | null): TimelinePoint[] {
  const perOp = new Map<number, number>();
  for (const e of events) perOp.set(e.op, (perOp.get(e.op) ?? 0) + 1);
  const seen = new Map<number, number>();
  return events.map((e) => {
    const k = seen.get(e.op) ?? 0;
    seen.set(e.op, k + 1);
    const x = e.op + (k + 0.5) / perOp.get(e.op)!;
    return { cpu: e.cpu, lane: laneOf(e.kind), x, label: `cpu ${e.cpu} op ${e.op}: ${e.kind}${e.args ? ` ${e.args}` : ''}`, violation: e === mark };
  });
}

/** The trace's text for a VA (events.ts prints VAs as 0x-hex). */
const vaText = (va: number): string => `0x${va.toString(16)}`;

/**
 * The window to draw. With a violation whose trace event is still in its
 * CPU's ring (kind "violation", same VA): that CPU's AROUND_VIOLATION
 * events either side, and every other CPU's events in the same op range
 * (the CPUs' op counters advance at about the same rate, so this is
 * roughly the same moment). Otherwise each CPU's last WINDOW_EVENTS.
 */
export function timelineView(events: readonly TimelineEvent[], violation: ViolationMark | null): TimelineView {
  const cpus = byCpu(events);
  let mark: TimelineEvent | null = null;
  if (violation !== null) {
    const own = cpus.get(violation.cpu) ?? [];
    const text = vaText(violation.va);
    for (let i = own.length - 1; i >= 0 && mark === null; i--) {
      if (own[i]!.kind === 'violation' && own[i]!.args.includes(text)) mark = own[i]!;
    }
  }
  const chosen: TimelineEvent[] = [];
  let window: string;
  if (mark !== null) {
    const own = cpus.get(mark.cpu)!;
    const at = own.indexOf(mark);
    const mine = own.slice(Math.max(0, at - AROUND_VIOLATION), at + AROUND_VIOLATION + 1);
    const lo = mine[0]!.op;
    const hi = mine[mine.length - 1]!.op;
    for (const [cpu, list] of cpus) {
      if (cpu === mark.cpu) chosen.push(...mine);
      else chosen.push(...list.filter((e) => e.op >= lo && e.op <= hi).slice(-2 * AROUND_VIOLATION));
    }
    window = `ops ${lo}..${hi}: cpu ${mark.cpu}'s ${AROUND_VIOLATION} events either side of the violating access, other CPUs' events in the same op range`;
  } else {
    for (const list of cpus.values()) chosen.push(...list.slice(-WINDOW_EVENTS));
    window = `the last ${WINDOW_EVENTS} trace events of each CPU`;
    if (violation !== null) window += ` (the violating access on cpu ${violation.cpu} is older than its CPU's trace ring holds: rerun with fewer --ops to see it)`;
  }
  const points: TimelinePoint[] = [];
  for (const list of byCpu(chosen).values()) points.push(...spread(list, mark));
  const used = new Set(points.map((p) => p.lane));
  return {
    cpus: [...cpus.keys()].sort((a, b) => a - b),
    points,
    lanesUsed: LANES.filter((l) => used.has(l)),
    lanesEmpty: LANES.filter((l) => !used.has(l)),
    window,
    marked: points.find((p) => p.violation) ?? null,
  };
}
