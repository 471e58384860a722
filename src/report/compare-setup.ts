// The one line that says what a comparison compared (scenario, samples,
// CPUs, run length, memory, scenario options, profile): the terminal
// table, the Markdown and the HTML page all open with it, so a table
// pasted into a mail carries the set-up that produced it.

import { fioReadsPerOp } from './compare.js';
import type { CompareReportObject } from './compare-file.js';

/** "key=value" entries of scenario options, sorted by key: the canonical form compare records and merge compares. */
export function canonicalOptions(options: Readonly<Record<string, number | string | boolean>>): string[] {
  return Object.keys(options).sort().map((k) => `${k}=${String(options[k])}`);
}

function memText(bytes: number): string {
  if (!(bytes > 0)) return 'mem unrecorded';
  const mib = bytes / 2 ** 20;
  return Number.isInteger(mib) ? `${mib} MiB mem` : `${bytes} B mem`;
}

/**
 * "fio-randread: 5 sample(s) per variant, 4 CPUs, 1000 ops per CPU,
 * 1 op = 8 read(s), 16 MiB mem, options readsPerOp=8, profile spr-ibpb"
 * for a CompareReport
 * object (fields as in proto/compare.proto; a file from before memBytes
 * existed says "mem unrecorded").
 */
export function compareSetupLine(r: CompareReportObject): string {
  const length = Number(r['ops']) > 0 ? `${r['ops']} ops per CPU` : `${r['seconds']} s`;
  const options = (r['options'] ?? []) as string[];
  const optionText = options.length > 0 ? `options ${options.join(' ')}` : 'default options';
  // fio-randread's per-op metrics are per op, not per read: say what an op is.
  const opText = r['scenario'] === 'fio-randread' ? `, 1 op = ${fioReadsPerOp(r)} read(s)` : '';
  return `${String(r['scenario'])}: ${r['samples']} sample(s) per variant, ${r['cpus']} CPUs, ${length}${opText}, ${memText(Number(r['memBytes'] ?? 0))}, ${optionText}, profile ${String(r['profile'])}`;
}
