// End-of-run check of an mm's nonsensitive PGD against its PGD
// (src/kernel/asi/space.ts): every user-half entry is the same (the
// write-through mirror kept up), and the direct map's entry is absent (the
// nonsensitive space must fault on sensitive data).

import { PTE_A, PTE_D, PT_ENTRIES } from '../../native-layout/bits.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { entryWord, ptSlotOf } from '../hw/ptstore.js';
import { DIRECT_MAP_PGD_INDEX } from '../kernel/asi/layout.js';

/** Problems found, one line each; empty when the two PGDs agree. */
export function checkAsiPgd(mem: MachineMemory, pgd: number, asiPgd: number): string[] {
  const { frame, ptStore: pt } = mem.views;
  const out: string[] = [];
  const src = ptSlotOf(frame, pgd);
  const dst = ptSlotOf(frame, asiPgd);
  for (let i = 0; i < PT_ENTRIES / 2; i++) {
    const a = entryWord(src, i);
    const b = entryWord(dst, i);
    // A and D are the walkers' own business: each PGD's copy gets its own.
    if (((pt[a]! ^ pt[b]!) & ~(PTE_A | PTE_D)) !== 0 || pt[a + 1] !== pt[b + 1]) out.push(`user PGD entry ${i} differs from the mm's (mirror missed a change)`);
  }
  const d = entryWord(dst, DIRECT_MAP_PGD_INDEX);
  if (pt[d] !== 0 || pt[d + 1] !== 0) out.push(`the direct map's PGD entry ${DIRECT_MAP_PGD_INDEX} is present`);
  return out;
}
