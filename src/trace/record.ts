// `run --trace FILE [--trace-mode ring|full]`: ties the drain (drain.ts)
// to the file writer (writer.ts) for one run on the main thread.
//   full: a timer drains the rings every few ms while the CPUs run, so
//         nothing is lost unless a CPU makes more than a ring's worth of
//         events between two polls (the end record counts what was);
//   ring: nothing runs during the run; at its end the last ring's worth
//         of every CPU is written (cheap; the window a violation report
//         also shows, only longer).

import type { MachineMemory } from '../../native-layout/memory.js';
import { TraceDrain } from './drain.js';
import { EVENT_NAMES } from './events.js';
import { TRACE_FILE_VERSION, type TraceHeader, type TraceMode } from './file.js';
import { TraceWriter } from './writer.js';

/** How often the full mode drains (ms). */
export const TRACE_POLL_MS = 4;
/** Trace ring entries per CPU in full mode (the default shape has 1024). */
export const FULL_TRACE_RING_ENTRIES = 16384;

/** What the header says about the run (the rest is filled in here). */
export type TraceRunInfo = Omit<TraceHeader, 'formatVersion' | 'mode' | 'ringEntries' | 'kindNames'>;

export interface TraceSummary {
  readonly path: string;
  readonly mode: TraceMode;
  readonly events: number;
  readonly bytes: number;
  readonly lost: readonly number[];
}

/** Kind names by kind number, index 0 unused (the header's kind_names). */
export function kindNameTable(): string[] {
  const max = Math.max(...Object.keys(EVENT_NAMES).map(Number));
  return Array.from({ length: max + 1 }, (_, k) => EVENT_NAMES[k] ?? '');
}

export class TraceRecording {
  private timer: ReturnType<typeof setInterval> | null = null;

  private constructor(private readonly drain: TraceDrain, private readonly writer: TraceWriter, readonly mode: TraceMode) {}

  /** Opens the file (temporary until stop) and, in full mode, starts the drain timer. */
  static async start(mem: MachineMemory, path: string, mode: TraceMode, info: TraceRunInfo): Promise<TraceRecording> {
    const header: TraceHeader = {
      ...info, formatVersion: TRACE_FILE_VERSION, mode, ringEntries: mem.layout.shape.traceEntries, kindNames: kindNameTable(),
    };
    const writer = await TraceWriter.create(path, header);
    const rec = new TraceRecording(new TraceDrain(mem, info.engine === 'serialized'), writer, mode);
    if (mode === 'full') rec.timer = setInterval(() => writer.add(rec.drain.poll()), TRACE_POLL_MS);
    return rec;
  }

  /** After the run (every CPU stopped): the rest of the events, the end record, the rename. */
  async stop(stoppedBy: string): Promise<TraceSummary> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const rest = this.mode === 'full' ? this.drain.finish() : this.drain.finishRingOnly();
    this.writer.add(rest);
    const { events, bytes } = await this.writer.close({ written: this.drain.written, lost: this.drain.lost, stoppedBy });
    return { path: this.writer.path, mode: this.mode, events, bytes, lost: this.drain.lost };
  }

  /** The run failed before it produced anything worth keeping: no file. */
  async abort(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.writer.abort();
  }
}
