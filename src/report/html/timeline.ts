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

export const LANES = ['IPIs', 'flushes', 'asi exits', 'context switches', 'CR3 writes', 'other', 'violation'] as const;
export type Lane = (typeof LANES)[number];

/**
 * The lane of an event kind: ipi-* (and csd) are IPIs; flush-tlb, invlpg,
 * invpcid, invlpgb, tlbsync and flush-all are flushes; asi-* are ASI
 * transitions (asi-enter, asi-exit); switch-mm is a context
 * switch. cr3 has a lane of its own: a CR3 write comes from a context
 * switch and, under ASI, from every asi_enter and asi_exit (it flushes
 * the PCID's entries unless NOFLUSH), so it is neither lane alone.
 */
export function laneOf(kind: string): Lane {
  const k = kind.toLowerCase();
  if (k === 'violation') return 'violation';
  if (k.startsWith('ipi') || k.includes('csd')) return 'IPIs';
  if (k.startsWith('asi')) return 'asi exits';
  if (k === 'cr3') return 'CR3 writes';
  if (k.includes('switch') || k.includes('context')) return 'context switches';
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
  /** Lanes with no event in the window (said on the page: e.g. no asi-exit in the window). */
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
  /** The scenario's op number when it happened (1-based: the CPU had finished op - 1 ops). */
  readonly op: number;
}

/** Events per CPU in a window without a violation. */
export const WINDOW_EVENTS = 40;
/** Events either side of the violating access on its CPU. */
export const AROUND_VIOLATION = 20;
/** Trace events carry the low 24 bits of the CPU's op counter. */
const OP_MASK = 0xffffff;

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
 * Where the violating access sits in its CPU's trace: the ring's own
 * "violation" event for that VA when the MMU emitted one (a stale TLB hit),
 * else the op the oracle's record names. Records come from several checks
 * (the flush audit, read-backs, the ASI checks) that do not all trace; the
 * record's op is the scenario's 1-based op number while the trace stamps
 * the CPU's count of finished ops, hence op - 1. Returns the anchor index
 * into `own` and the exact event if there was one, or null when the op is
 * outside what the ring still holds.
 */
function findViolation(own: readonly TimelineEvent[], v: ViolationMark): { at: number; event: TimelineEvent | null; traceOp: number } | null {
  const text = vaText(v.va);
  for (let i = own.length - 1; i >= 0; i--) {
    if (own[i]!.kind === 'violation' && own[i]!.args.includes(text)) return { at: i, event: own[i]!, traceOp: own[i]!.op };
  }
  const traceOp = (v.op - 1) & OP_MASK;
  if (own.length === 0 || traceOp < own[0]!.op || traceOp > own[own.length - 1]!.op + 1) return null;
  let at = own.findIndex((e) => e.op > traceOp);
  if (at < 0) at = own.length;
  return { at, event: null, traceOp };
}

/**
 * The window to draw. With a violation found in its CPU's ring: that CPU's
 * AROUND_VIOLATION events either side, and every other CPU's events in the
 * same op range (the CPUs' op counters advance at about the same rate, so
 * this is roughly the same moment), the access marked. Otherwise each
 * CPU's last WINDOW_EVENTS.
 */
export function timelineView(events: readonly TimelineEvent[], violation: ViolationMark | null): TimelineView {
  const cpus = byCpu(events);
  const found = violation !== null ? findViolation(cpus.get(violation.cpu) ?? [], violation) : null;
  const chosen: TimelineEvent[] = [];
  let window: string;
  let synthetic: TimelinePoint | null = null;
  if (found !== null && violation !== null) {
    const own = cpus.get(violation.cpu)!;
    const mine = own.slice(Math.max(0, found.at - AROUND_VIOLATION), found.at + AROUND_VIOLATION + 1);
    const lo = Math.min(found.traceOp, mine[0]?.op ?? found.traceOp);
    const hi = Math.max(found.traceOp, mine[mine.length - 1]?.op ?? found.traceOp);
    for (const [cpu, list] of cpus) {
      if (cpu === violation.cpu) chosen.push(...mine);
      else chosen.push(...list.filter((e) => e.op >= lo && e.op <= hi));
    }
    if (found.event === null) {
      // No trace event of its own: the access is drawn at the end of its op, after what the op traced.
      synthetic = {
        cpu: violation.cpu, lane: 'violation', x: found.traceOp + 0.95, violation: true,
        label: `cpu ${violation.cpu} op ${found.traceOp}: ${violation.kind} va ${vaText(violation.va)} pfn ${violation.pfn} (oracle record)`,
      };
    }
    window = `ops ${lo}..${hi}: cpu ${violation.cpu}'s trace events either side of the violating access (up to ${AROUND_VIOLATION}; ${violation.kind}, op ${found.traceOp}), other CPUs' events in the same op range`;
  } else {
    for (const list of cpus.values()) chosen.push(...list.slice(-WINDOW_EVENTS));
    window = `the last ${WINDOW_EVENTS} trace events of each CPU`;
    if (violation !== null) window += ` (the violating access on cpu ${violation.cpu} is older than its CPU's trace ring holds: rerun with fewer --ops to see it)`;
  }
  const mark = found?.event ?? null;
  const points: TimelinePoint[] = [];
  for (const list of byCpu(chosen).values()) points.push(...spread(list, mark));
  if (synthetic !== null) points.push(synthetic);
  for (let i = 0; i < points.length; i++) {
    if (points[i]!.violation) points[i] = { ...points[i]!, lane: 'violation' };
  }
  const used = new Set(points.map((p) => p.lane));
  return {
    cpus: [...cpus.keys()].sort((a, b) => a - b),
    points,
    lanesUsed: LANES.filter((l) => used.has(l)),
    lanesEmpty: LANES.filter((l) => !used.has(l) && l !== 'violation'),
    window,
    marked: points.find((p) => p.violation) ?? null,
  };
}
