// A snapshot of every CPU's IPI-related state, for the watchdog's report.
// Read from the main thread while the CPUs may still run, so it is a
// best-effort picture: each word is read once, atomically, not all at once.

import { C } from '../../native-layout/counters.js';
import {
  COUNTERS_STRIDE, CPU_CSD_WAIT_FOR, CPU_CSD_WAIT_SINCE, CPU_IRQS_DISABLED, CPU_PREEMPT_COUNT, CPU_STRIDE, CSD_FLAGS, CSD_FUNC,
  CSD_STRIDE, IPI_DOORBELL, IPI_PARKED, IPI_QUEUE_HEAD, IPI_RECEIVED, IPI_STRIDE,
} from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { CSD_FLAG_LOCK, CSD_TYPE_SYNC } from '../kernel/smp.js';

export interface LockedCsd {
  readonly target: number;
  readonly func: number;
  readonly sync: boolean;
}

export interface CpuStateDump {
  readonly cpu: number;
  readonly irqsDisabled: boolean;
  readonly preemptCount: number;
  readonly ops: number;
  /** First csd index queued for this CPU, -1 empty (-2: stop marker). */
  readonly queueHead: number;
  readonly doorbell: number;
  readonly parked: boolean;
  /** IPI handler runs (drains of its queue). */
  readonly interruptsTaken: number;
  /** csds this CPU sent that are still in flight, i.e. what it waits for. */
  readonly lockedCsds: readonly LockedCsd[];
  /** The CPU whose ack it is waiting for (null when not waiting). */
  readonly waitingForCpu: number | null;
  /** ms since the run epoch when it started waiting for a csd; null when not waiting. */
  readonly waitingSinceMs: number | null;
  readonly waitedMs: number | null;
}

export function captureCpuStates(mem: MachineMemory, epochMs: number, nowMs: number = Date.now()): CpuStateDump[] {
  const { cpu: st, csd, ipi, counters } = mem.views;
  const cpus = mem.layout.shape.cpus;
  const out: CpuStateDump[] = [];
  for (let c = 0; c < cpus; c++) {
    const ca = c * CPU_STRIDE;
    const ia = c * IPI_STRIDE;
    const lockedCsds: LockedCsd[] = [];
    for (let t = 0; t < cpus; t++) {
      const at = (c * cpus + t) * CSD_STRIDE;
      const flags = Atomics.load(csd, at + CSD_FLAGS);
      if ((flags & CSD_FLAG_LOCK) !== 0) {
        lockedCsds.push({ target: t, func: Atomics.load(csd, at + CSD_FUNC), sync: (flags & CSD_TYPE_SYNC) !== 0 });
      }
    }
    const since = Atomics.load(st, ca + CPU_CSD_WAIT_SINCE);
    const sinceMs = since === 0 ? null : since - 1;
    out.push({
      cpu: c,
      irqsDisabled: Atomics.load(st, ca + CPU_IRQS_DISABLED) !== 0,
      preemptCount: Atomics.load(st, ca + CPU_PREEMPT_COUNT),
      ops: counters[c * COUNTERS_STRIDE + C.ops]!,
      queueHead: Atomics.load(ipi, ia + IPI_QUEUE_HEAD),
      doorbell: Atomics.load(ipi, ia + IPI_DOORBELL),
      parked: Atomics.load(ipi, ia + IPI_PARKED) !== 0,
      interruptsTaken: Atomics.load(ipi, ia + IPI_RECEIVED),
      lockedCsds,
      waitingForCpu: sinceMs === null ? null : Atomics.load(st, ca + CPU_CSD_WAIT_FOR) % cpus,
      waitingSinceMs: sinceMs,
      waitedMs: sinceMs === null ? null : nowMs - epochMs - sinceMs,
    });
  }
  return out;
}

/**
 * The CPU that has waited longest for an ack, if that is longer than
 * boundMs and the csd it waits for is still locked (csd_lock_wait_toolong).
 */
export function findHungCpu(mem: MachineMemory, epochMs: number, boundMs: number, nowMs: number = Date.now()): { cpu: number; waitedMs: number; target: number } | null {
  const { cpu: st, csd } = mem.views;
  const cpus = mem.layout.shape.cpus;
  const rel = nowMs - epochMs;
  let worst: { cpu: number; waitedMs: number; target: number } | null = null;
  for (let c = 0; c < cpus; c++) {
    const since = Atomics.load(st, c * CPU_STRIDE + CPU_CSD_WAIT_SINCE);
    if (since === 0) continue;
    const idx = Atomics.load(st, c * CPU_STRIDE + CPU_CSD_WAIT_FOR);
    if (idx < 0 || idx >= cpus * cpus || (Atomics.load(csd, idx * CSD_STRIDE + CSD_FLAGS) & CSD_FLAG_LOCK) === 0) continue;
    const waited = rel - (since - 1);
    if (waited > boundMs && (worst === null || waited > worst.waitedMs)) worst = { cpu: c, waitedMs: waited, target: idx % cpus };
  }
  return worst;
}

/** One line per CPU, like a kernel's csd-lock-timeout splat. */
export function formatDump(dump: readonly CpuStateDump[]): string {
  return dump.map((d) => {
    const waits = d.lockedCsds.map((l) => `${l.target}${l.sync ? '' : '(async)'}:f${l.func}`).join(' ') || '-';
    const since = d.waitingSinceMs === null ? 'not waiting' : `waiting ${Math.round(d.waitedMs ?? 0)} ms for CPU ${d.waitingForCpu}`;
    return `  cpu ${d.cpu}: irqs ${d.irqsDisabled ? 'off' : 'on'} preempt ${d.preemptCount} ops ${d.ops}`
      + ` queue ${d.queueHead} ${d.parked ? 'parked' : 'running'} irqs-taken ${d.interruptsTaken}`
      + ` csds-in-flight ${waits} ${since}`;
  }).join('\n');
}
