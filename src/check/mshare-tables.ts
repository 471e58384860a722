// mshare (issue 8, src/kernel/mshare): the page tables that live regions
// share by design, for the end-of-run structure check (a table reachable
// from several roots is a bug anywhere else).

import { MSHARE_STRIDE, MSH_PMD_TABLE, MSH_STATE } from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { MSHARE_REGIONS } from '../../native-layout/regions.js';

/** PMD tables of live mshare regions (linked from the host's PUD table and every client's). */
export function msharedTables(mem: MachineMemory): Set<number> {
  const m = mem.views.mshare;
  const out = new Set<number>();
  for (let r = 0; r < MSHARE_REGIONS; r++) {
    if (m[r * MSHARE_STRIDE + MSH_STATE] !== 0) out.add(m[r * MSHARE_STRIDE + MSH_PMD_TABLE]!);
  }
  return out;
}
