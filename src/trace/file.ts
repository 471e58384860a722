// Trace files (proto/trace.proto): the framing, the encoder the writer uses
// and the reader `trace show` / `trace export` use.
//
// Framing, like the report files (src/report/report-file.ts): an 8-byte
// magic and a version, so that an empty or foreign file is refused instead
// of decoding as an empty trace; then length-delimited TraceRecord messages,
// header first, end record last. The end record carries the CRC-32 of all
// bytes before it, so a file cut short (a full disk) or altered is refused
// too. The writer (src/trace/writer.ts) writes a temporary file and renames
// it only once the end record is on disk.

import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import protobuf from 'protobufjs';
import { PACKAGE_ROOT } from '../paths.js';
import type { RawEvent } from './drain.js';

export const TRACE_FILE_MAGIC = 'SHOOTTRC';
/** Bump when the framing or the meaning of a field changes; readers refuse versions they do not know. */
export const TRACE_FILE_VERSION = 1;
export const TRACE_FILE_PREFIX_BYTES = 12;
/** Events per batch record (the last batch of a file may hold fewer). */
export const TRACE_BATCH_EVENTS = 512;

export type TraceMode = 'ring' | 'full';
export const TRACE_MODES: readonly TraceMode[] = ['ring', 'full'];

/** The header record (proto TraceHeader, camelCase). */
export interface TraceHeader {
  formatVersion: number;
  toolVersion: string;
  scenario: string;
  cpus: number;
  seed: number;
  variant: string;
  inject: string[];
  engine: string;
  schedSeed: number;
  sched: string;
  preemptions: number;
  opsPerCpu: number;
  mode: string;
  ringEntries: number;
  options: string[];
  kindNames: string[];
  replay: string;
}

/** The end record (proto TraceEnd). */
export interface TraceEnd {
  written: number[];
  lost: number[];
  stoppedBy: string;
  events: number;
  crc32: number;
}

/** A whole trace file, read. */
export interface TraceFile {
  readonly header: TraceHeader;
  /** In file order (sequence order, but for the free engine's rare late events). */
  readonly events: RawEvent[];
  readonly end: TraceEnd;
}

/** A file that is not a complete trace of a version this build reads. */
export class TraceFileError extends Error {
  override name = 'TraceFileError';
}

let recordType: protobuf.Type | null = null;

function traceRecordType(): protobuf.Type {
  if (recordType === null) {
    const root = new protobuf.Root();
    protobuf.parse(readFileSync(new URL('proto/trace.proto', PACKAGE_ROOT), 'utf8'), root, { keepCase: false });
    recordType = root.lookupType('shootdown.trace.TraceRecord');
  }
  return recordType;
}

/** The magic and version that open every trace file. */
export function traceFilePrefix(): Buffer {
  const out = Buffer.alloc(TRACE_FILE_PREFIX_BYTES);
  out.write(TRACE_FILE_MAGIC, 0, 'ascii');
  out.writeUInt32LE(TRACE_FILE_VERSION, 8);
  return out;
}

function encodeRecord(record: object): Buffer {
  const t = traceRecordType();
  const err = t.verify(record);
  if (err) throw new Error(`trace: record does not fit proto/trace.proto: ${err}`);
  return Buffer.from(t.encodeDelimited(t.fromObject(record)).finish());
}

export function encodeHeaderRecord(header: TraceHeader): Buffer {
  return encodeRecord({ header });
}

export function encodeBatchRecord(events: readonly RawEvent[]): Buffer {
  return encodeRecord({ batch: { events: events.map((e) => ({ cpu: e.cpu, seq: e.seq, op: e.op, kind: e.kind, a: e.a, b: e.b, c: e.c })) } });
}

/** The end record; crc is the CRC-32 of every byte written before it. */
export function encodeEndRecord(end: TraceEnd): Buffer {
  return encodeRecord({ end });
}

/** Does this buffer start like a trace file (magic only)? */
export function looksLikeTraceFile(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).toString('ascii') === TRACE_FILE_MAGIC;
}

/**
 * Bytes -> trace. Throws TraceFileError (the message says what is wrong,
 * without the file name: the caller adds it) for an empty, foreign, newer,
 * torn or corrupted file.
 */
export function decodeTraceFile(bytes: Uint8Array): TraceFile {
  if (bytes.length === 0) throw new TraceFileError('is empty (0 bytes): not a trace');
  if (bytes.length < TRACE_FILE_PREFIX_BYTES || !looksLikeTraceFile(bytes)) {
    throw new TraceFileError(`is not a shootdown trace (no "${TRACE_FILE_MAGIC}" header)`);
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = buf.readUInt32LE(8);
  if (version !== TRACE_FILE_VERSION) throw new TraceFileError(`is trace format version ${version}; this shootdown reads version ${TRACE_FILE_VERSION}`);
  const t = traceRecordType();
  const reader = protobuf.Reader.create(buf.subarray(TRACE_FILE_PREFIX_BYTES));
  let header: TraceHeader | null = null;
  let end: TraceEnd | null = null;
  const events: RawEvent[] = [];
  while (reader.pos < reader.len) {
    if (end !== null) throw new TraceFileError('is corrupted: records follow the end record');
    const recordStart = TRACE_FILE_PREFIX_BYTES + reader.pos;
    let rec: Record<string, unknown>;
    try {
      rec = t.toObject(t.decodeDelimited(reader), { defaults: true, arrays: true, longs: Number }) as Record<string, unknown>;
    } catch {
      throw new TraceFileError(`is torn: the record at byte ${recordStart} is cut short or unreadable (the run was killed while writing, or the disk filled)`);
    }
    if (rec['header']) {
      if (header !== null || events.length > 0) throw new TraceFileError('is corrupted: a second header');
      header = rec['header'] as TraceHeader;
    } else if (rec['batch']) {
      if (header === null) throw new TraceFileError('is corrupted: events before the header');
      for (const e of (rec['batch'] as { events: RawEvent[] }).events) events.push(e);
    } else if (rec['end']) {
      end = rec['end'] as TraceEnd;
      if ((crc32(buf.subarray(0, recordStart)) >>> 0) !== end.crc32) throw new TraceFileError('is corrupted: its checksum does not match its contents');
    } else {
      throw new TraceFileError(`is corrupted: an empty record at byte ${recordStart}`);
    }
  }
  if (header === null) throw new TraceFileError('is torn: no header record');
  if (end === null) throw new TraceFileError('is torn: no end record (the run was killed before the trace was finished)');
  if (end.events !== events.length) throw new TraceFileError(`is corrupted: the end record counts ${end.events} events, the file holds ${events.length}`);
  return { header, events, end };
}
