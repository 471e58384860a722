// The design fields of a RunReport (proto/report.proto, design range
// 120-129): which design ran, its base variant, the module it came from,
// and the policy behind each extension point, so a report file says what
// kernel produced it even when the design is not a built-in.

import { fileURLToPath } from 'node:url';
import { resolveDesign } from '../kernel/design/apply.js';
import { parseVariant } from '../kernel/variant.js';
import type { RunReport } from './run-report-type.js';

/** design, designBase, designSource (a path, '' for a built-in) and designPolicies ("flush=ipi", ...). */
export function designReportFields(variant: string): Pick<RunReport, 'design' | 'designBase' | 'designSource' | 'designPolicies'> {
  const d = resolveDesign(parseVariant(variant));
  return {
    design: d.name,
    designBase: d.base,
    designSource: d.source === null ? '' : d.source.startsWith('file:') ? fileURLToPath(d.source) : d.source,
    designPolicies: [
      `flush=${d.flush.name}`, `lazyTlb=${d.lazyTlb.name}`, `asi=${d.asi.name}`, `ephemeralMap=${d.ephemeralMap.name}`, `flip=${d.flip.name}`,
    ],
  };
}
