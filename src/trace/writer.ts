// Writes a trace file while the run goes on (proto/trace.proto framing, see
// file.ts). Everything goes to a temporary file beside the target; only
// close() — after the end record is written and fsynced — renames it over
// the target. A run killed outright (SIGKILL, a second SIGINT) therefore
// leaves the target as it was (nothing, or a previous complete trace) and
// never a torn file; a first SIGINT stops the CPUs like a time limit, the
// run returns, and close() finishes the file with stoppedBy "interrupted".

import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { RawEvent } from './drain.js';
import {
  TRACE_BATCH_EVENTS, type TraceHeader, encodeBatchRecord, encodeEndRecord, encodeHeaderRecord, traceFilePrefix,
} from './file.js';

/** Writing the trace failed: the message names the file. */
export class TraceWriteError extends Error {
  override name = 'TraceWriteError';
  constructor(readonly path: string, override readonly cause: unknown) {
    super(`could not write trace "${path}": ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export class TraceWriter {
  private crc = 0;
  private bytes = 0;
  private events = 0;
  private batch: RawEvent[] = [];
  /** Writes go out one after another; the first error is kept for close(). */
  private chain: Promise<void> = Promise.resolve();
  private error: unknown = null;
  private closed = false;

  private constructor(readonly path: string, private readonly tmp: string, private readonly fh: FileHandle) {}

  /** Creates the temporary file and writes the prefix and header. */
  static async create(path: string, header: TraceHeader): Promise<TraceWriter> {
    const dir = dirname(resolve(path));
    const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    let fh: FileHandle;
    try {
      fh = await open(tmp, 'wx', 0o644);
    } catch (e) {
      throw new TraceWriteError(path, e);
    }
    const w = new TraceWriter(path, tmp, fh);
    w.put(traceFilePrefix());
    w.put(encodeHeaderRecord(header));
    return w;
  }

  private put(buf: Buffer): void {
    this.crc = crc32(buf, this.crc) >>> 0;
    this.bytes += buf.length;
    const fh = this.fh;
    this.chain = this.chain.then(async () => {
      if (this.error !== null) return;
      try {
        // FileHandle.write may write less than asked (a filling disk): loop.
        let off = 0;
        while (off < buf.length) {
          const { bytesWritten } = await fh.write(buf, off, buf.length - off);
          if (bytesWritten === 0) throw new Error('the disk accepted no more bytes');
          off += bytesWritten;
        }
      } catch (e) {
        this.error = e;
      }
    });
  }

  /** Queues events (in merge order) for the file; whole batches go out at once. */
  add(events: readonly RawEvent[]): void {
    for (const e of events) {
      this.batch.push(e);
      if (this.batch.length === TRACE_BATCH_EVENTS) this.flushBatch();
    }
  }

  private flushBatch(): void {
    if (this.batch.length === 0) return;
    this.put(encodeBatchRecord(this.batch));
    this.events += this.batch.length;
    this.batch = [];
  }

  /**
   * Writes the last batch and the end record, fsyncs, and renames the file
   * into place. Throws TraceWriteError (the temporary file is removed) if
   * any write failed.
   */
  async close(end: { written: number[]; lost: number[]; stoppedBy: string }): Promise<{ events: number; bytes: number }> {
    if (this.closed) throw new Error('trace writer closed twice');
    this.closed = true;
    this.flushBatch();
    this.put(encodeEndRecord({ ...end, events: this.events, crc32: this.crc }));
    await this.chain;
    try {
      if (this.error !== null) throw this.error;
      const { size } = await this.fh.stat();
      if (size !== this.bytes) throw new Error(`short write: ${size} of ${this.bytes} bytes reached the disk`);
      await this.fh.sync();
      await this.fh.close();
      await rename(this.tmp, this.path);
    } catch (e) {
      await this.fh.close().catch(() => {});
      await unlink(this.tmp).catch(() => {});
      throw new TraceWriteError(this.path, e);
    }
    return { events: this.events, bytes: this.bytes };
  }

  /** Gives up: removes the temporary file (the target stays as it was). */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    await this.fh.close().catch(() => {});
    await unlink(this.tmp).catch(() => {});
  }
}
