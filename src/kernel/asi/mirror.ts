// asi_clone_user_pgtbl() for one entry (see space.ts for why the PGD
// entries of an mm's nonsensitive PGD are kept by write-through). Imports
// no kernel code: pgtable.ts calls it.

import { PTE_P } from '../../../native-layout/bits.js';
import { PGD_SHADOW_ASI_PGD, PGD_SHADOW_STRIDE } from '../../../native-layout/fields.js';
import type { MachineViews } from '../../../native-layout/memory.js';
import { clearEntry, entryWord, ptSlotOf, readHi, readLo, setEntry } from '../../hw/ptstore.js';
import { DIRECT_MAP_PGD_INDEX } from './layout.js';

/**
 * After entry `index` of the PGD in page-table store slot `pgdSlot` was
 * written, copy it into the nonsensitive PGD mirroring that PGD, if any.
 * The direct map's entry is never copied. Cost without ASI: one load.
 */
export function asiMirrorPgdEntry(views: MachineViews, frame: Int32Array, seq: Int32Array, pgdSlot: number, index: number): void {
  const shadow = Atomics.load(views.pgdShadow, pgdSlot * PGD_SHADOW_STRIDE + PGD_SHADOW_ASI_PGD) - 1;
  if (shadow < 0 || index === DIRECT_MAP_PGD_INDEX) return;
  const pt = views.ptStore;
  const w = entryWord(pgdSlot, index);
  const dw = entryWord(ptSlotOf(frame, shadow), index);
  const lo = readLo(pt, w);
  if ((lo & PTE_P) !== 0) setEntry(pt, seq, dw, lo, readHi(pt, w));
  else clearEntry(pt, seq, dw);
}
