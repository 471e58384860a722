// Where a failure happened, beyond its kind (issue 10: hunt reproduces "the
// same violation kind at the same code site"). The oracle's first record
// carries more than its kind; the fields that stay put when the same bug
// is hit in another run, and that tell different bugs of one kind apart,
// make the site:
//
// - the address class of `va` (user or kernel half) for the kinds whose
//   va is an address: a stale user translation after a munmap and a stale
//   kernel translation after a pageblock flip are both `stale-at-flush` or
//   `isolation`, from different flush paths;
// - the ephemeral-map role: whether the CPU that used the entry owned the
//   slot (a missing local flush) or another CPU's slot was cached (a
//   missing remote or mitigation flush);
// - for checked software walks the walker (a kernel function) and the
//   table level: the code site itself;
// - for lockdep records the pair of lock classes;
// - for asi-mapping the sensitivity expected.
//
// Fields that change from run to run for the same bug (CPU numbers, task,
// op, the exact address or frame, generations) are left out: they would
// make a reproduction of the same race look different. Kinds with a single
// check site (`asi-state`, `unmapped-direct-map`, `readback`,
// `unmapped-access`, `write-after-downgrade`) add nothing: the kind is the site.

import type { RunReportObject } from '../report/run-report.js';
import { failureSignature } from './run-case.js';

/** How hunt and shrink compare failures: by kind only, or by kind and site. */
export type MatchMode = 'kind' | 'site';
export const MATCH_MODES: readonly MatchMode[] = ['kind', 'site'];

/** Lowest kernel-half address (x86-64, 4-level paging: the canonical upper half). */
const KERNEL_HALF = 0xffff800000000000;
/** The user half ends at 2^47; addresses of the emulated kernel start above it (0x888000000000 direct map, ...). */
const USER_TOP = 2 ** 47;

/** Kinds whose record's va is a virtual address (src/check/oracle.ts). */
const ADDRESS_KINDS = new Set(['stale-tlb', 'walk-non-pagetable', 'stale-psc', 'isolation', 'data-leak', 'ephmap', 'stale-at-flush']);
const LOCKDEP_KINDS = new Set(['lock-order', 'flush-under-lock', 'sleep-in-atomic']);

interface RecordFields {
  kind: string; cpu: number; va: number; pfn: number; fillGen: number; slotCpu: number; swWalker: string; swLevel: number;
}

/**
 * The site of a report's first violation record as a short stable string,
 * '' when the record adds nothing to its kind (or there is no record).
 */
export function failureSite(report: RunReportObject): string {
  const r = (report['violationRecords'] as RecordFields[] | undefined)?.[0];
  if (!r) return '';
  const parts: string[] = [];
  if (ADDRESS_KINDS.has(r.kind)) parts.push(r.va >= USER_TOP || r.va >= KERNEL_HALF ? 'kernel va' : 'user va');
  if (r.slotCpu >= 0) parts.push(r.slotCpu === r.cpu ? 'own slot' : 'another CPU\'s slot');
  if (r.kind === 'sw-walk-freed-table' || r.kind === 'sw-walk-moved-table') parts.push(`walker ${r.swWalker} level ${r.swLevel}`);
  if (LOCKDEP_KINDS.has(r.kind)) parts.push(`lock classes ${r.va}/${r.pfn}`);
  if (r.kind === 'asi-mapping') parts.push(r.fillGen === 1 ? 'expected nonsensitive' : 'expected sensitive');
  return parts.join(', ');
}

/**
 * What hunt and shrink compare: the failure signature (kind), and with
 * `site` the site after it, e.g. `violation:stale-at-flush [user va]`.
 * null when the run passed.
 */
export function failureKey(report: RunReportObject, match: MatchMode): string | null {
  const sig = failureSignature(report);
  if (sig === null || match === 'kind') return sig;
  const site = failureSite(report);
  return site === '' ? sig : `${sig} [${site}]`;
}
