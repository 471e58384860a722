// The on-disk form of a CompareReport (`compare --out`, `merge --out`): the
// framed header of report-file.ts with the magic "SHOOTCMP", then the
// protobuf bytes (proto/compare.proto). The header is what lets `merge`
// refuse a torn copy or a foreign file instead of pooling zeros: an empty
// or truncated protobuf decodes as a valid CompareReport with no metrics.

import { decodeMessage, encodeMessage } from './schema.js';
import { REPORT_FILE_MAGIC, ReportFileError, frameFile, looksLikeReportFile, unframeFile } from './report-file.js';

export const COMPARE_FILE_MAGIC = 'SHOOTCMP';

/** A CompareReport as a plain object in the message's camelCase field names. */
export type CompareReportObject = Record<string, unknown>;

/** CompareReport object -> header + protobuf bytes. */
export function encodeCompareFile(report: CompareReportObject): Buffer {
  return frameFile(COMPARE_FILE_MAGIC, encodeMessage('CompareReport', report));
}

/**
 * Header + protobuf bytes -> CompareReport object. Throws ReportFileError
 * (without the file name: the caller adds it) for an empty, torn, corrupted
 * or foreign file, and says so when the file is a run report instead.
 */
export function decodeCompareFile(bytes: Uint8Array): CompareReportObject {
  if (looksLikeReportFile(bytes, REPORT_FILE_MAGIC)) {
    throw new ReportFileError(`is a run report (run --out), not a comparison (compare --out)`);
  }
  const payload = unframeFile(bytes, COMPARE_FILE_MAGIC, 'a shootdown comparison (compare --out)');
  try {
    return decodeMessage('CompareReport', payload);
  } catch (e) {
    throw new ReportFileError(`does not decode as a CompareReport: ${(e as Error).message}`);
  }
}
