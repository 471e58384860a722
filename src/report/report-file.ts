// The on-disk form of a RunReport (`run --out`, each soak run's .pb): a
// fixed 20-byte header, then the protobuf bytes.
//
//   offset  bytes  field
//   0       8      magic "SHOOTRPT" (ASCII)
//   8       4      format version, uint32 little-endian (REPORT_FILE_VERSION)
//   12      4      payload length in bytes, uint32 little-endian
//   16      4      CRC-32 (zlib's, as gzip) of the payload, uint32 little-endian
//   20      n      RunReport, protobuf binary (proto/report.proto)
//
// Why a header at all: protobuf has no framing, and the empty byte string
// decodes as a valid RunReport with every counter 0 and no violation: a file
// truncated to 0 bytes by a full disk, or torn by a kill mid-write, would
// read back as a clean run. With the header, a reader accepts a file only if
// the magic, the version, the length and the checksum all agree.

import { crc32 } from 'node:zlib';
import { decodeMessage, encodeMessage } from './schema.js';
import type { RunReportObject } from './run-report.js';

export const REPORT_FILE_MAGIC = 'SHOOTRPT';
/** Bump when the header changes; readers refuse versions they do not know. */
export const REPORT_FILE_VERSION = 1;
export const REPORT_FILE_HEADER_BYTES = 20;

/** A file that is not a complete report of a version this build reads. */
export class ReportFileError extends Error {
  override name = 'ReportFileError';
}

/** RunReport object -> header + protobuf bytes. */
export function encodeReportFile(report: RunReportObject): Buffer {
  return frameFile(REPORT_FILE_MAGIC, encodeMessage('RunReport', report));
}

/**
 * The header above around any payload, with an 8-byte ASCII `magic` naming
 * what the payload is (SHOOTRPT: a RunReport; SHOOTCMP: a CompareReport,
 * src/report/compare-file.ts).
 */
export function frameFile(magic: string, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(REPORT_FILE_HEADER_BYTES + payload.length);
  out.write(magic, 0, 'ascii');
  out.writeUInt32LE(REPORT_FILE_VERSION, 8);
  out.writeUInt32LE(payload.length, 12);
  out.writeUInt32LE(crc32(payload) >>> 0, 16);
  out.set(payload, REPORT_FILE_HEADER_BYTES);
  return out;
}

/** Does this buffer start like a report file (magic only: a cheap sniff)? */
export function looksLikeReportFile(bytes: Uint8Array, magic = REPORT_FILE_MAGIC): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).toString('ascii') === magic;
}

/**
 * The payload of a framed file whose magic is `magic` (`what` names it in
 * messages: "a shootdown report"). Throws ReportFileError (the message says
 * what is wrong, without the file name) for an empty, foreign, newer,
 * truncated, extended or corrupted file.
 */
export function unframeFile(bytes: Uint8Array, magic: string, what: string): Buffer {
  if (bytes.length === 0) throw new ReportFileError(`is empty (0 bytes): not ${what}`);
  if (bytes.length < REPORT_FILE_HEADER_BYTES || !looksLikeReportFile(bytes, magic)) {
    throw new ReportFileError(`is not ${what} (no "${magic}" header)`);
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = buf.readUInt32LE(8);
  if (version !== REPORT_FILE_VERSION) {
    throw new ReportFileError(`is report format version ${version}; this shootdown reads version ${REPORT_FILE_VERSION}`);
  }
  const length = buf.readUInt32LE(12);
  const have = buf.length - REPORT_FILE_HEADER_BYTES;
  if (have !== length) throw new ReportFileError(`is torn: the header promises ${length} bytes of report, the file holds ${have}`);
  const payload = buf.subarray(REPORT_FILE_HEADER_BYTES);
  if ((crc32(payload) >>> 0) !== buf.readUInt32LE(16)) throw new ReportFileError('is corrupted: its checksum does not match its contents');
  return payload;
}

/**
 * Header + protobuf bytes -> RunReport object. Throws ReportFileError (the
 * message says what is wrong, without the file name: the caller adds it)
 * for an empty, foreign, newer, truncated, extended or corrupted file.
 */
export function decodeReportFile(bytes: Uint8Array): RunReportObject {
  const payload = unframeFile(bytes, REPORT_FILE_MAGIC, 'a shootdown report');
  try {
    return decodeMessage('RunReport', payload);
  } catch (e) {
    throw new ReportFileError(`does not decode as a RunReport: ${(e as Error).message}`);
  }
}
