// The end-of-run check of the ASI flip layer (issue 7 item 6d, SEMANTICS.md
// §9.5 "freetype = restricted mapping state"), for a quiescent machine:
// - every pageblock is mapped in the nonsensitive physmap (a present 2 MiB
//   leaf for exactly that block) iff its pageblock bit says nonsensitive;
// - no TLB anywhere still holds a physmap entry for a block that is
//   sensitive now (its flip's shootdown missed that CPU).
// Re-derived from the raw views: shares nothing with the flip's own code
// but the physmap's address constants.

import { PB_NONSENSITIVE, PB_BITS, PB_PER_WORD, PTE_P, PTE_PS, TLB_SIZE_MASK, TLB_SIZE_SHIFT, PAGE_SIZE_2M, TLB_VPNHI_MASK, TLB_VPNHI_SHIFT } from '../../native-layout/bits.js';
import { FRAME_STRIDE, FR_PRIVATE, KERNEL_ASI_PHYSMAP_PUD } from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import { Tlb } from '../hw/tlb.js';
import { entryWord } from '../hw/ptstore.js';
import { ptIndex, ptePfn } from '../hw/pte.js';
import { ASI_PHYSMAP_BASE, ASI_PHYSMAP_SPAN } from '../kernel/asi/physmap.js';

const PAGE = 4096;
const hex = (n: number): string => `0x${n.toString(16)}`;

function blockNonsensitive(pb: Int32Array, pfn: number): boolean {
  const b = pfn >> PAGEBLOCK_ORDER;
  const w = pb[Math.floor(b / PB_PER_WORD)]!;
  return ((w >>> ((b % PB_PER_WORD) * PB_BITS)) & PB_NONSENSITIVE) !== 0;
}

/** One line per problem; empty when healthy or when the machine has no physmap. */
export function checkAsiPhysmap(mem: MachineMemory): string[] {
  const v = mem.views;
  const pud = v.kernel[KERNEL_ASI_PHYSMAP_PUD]! - 1;
  if (pud < 0) return [];
  const out: string[] = [];
  const pt = v.ptStore;
  const slotOf = (pfn: number): number => v.frame[pfn * FRAME_STRIDE + FR_PRIVATE]!;
  const frames = mem.layout.frames;
  for (let block = 0; block < frames; block += PAGEBLOCK_NR_PAGES) {
    const va = ASI_PHYSMAP_BASE + block * PAGE;
    const wPud = entryWord(slotOf(pud), ptIndex(va, 3));
    const pudLo = pt[wPud]!;
    if ((pudLo & PTE_P) === 0) {
      out.push(`asi physmap: no PMD table for block ${block} (tables must be pre-allocated)`);
      continue;
    }
    const w = entryWord(slotOf(ptePfn(pudLo, pt[wPud + 1]!)), ptIndex(va, 2));
    const lo = pt[w]!;
    const mapped = (lo & PTE_P) !== 0;
    const ns = blockNonsensitive(v.pageblock, block);
    if (mapped !== ns) {
      out.push(`asi physmap: block ${block} is ${ns ? 'nonsensitive' : 'sensitive'} but ${mapped ? 'mapped in' : 'absent from'} the nonsensitive physmap`);
    } else if (mapped && ((lo & PTE_PS) === 0 || ptePfn(lo, pt[w + 1]!) !== block)) {
      out.push(`asi physmap: block ${block}'s entry is not a 2 MiB leaf to itself (pfn ${ptePfn(lo, pt[w + 1]!)})`);
    }
  }
  for (let cpu = 0; cpu < mem.layout.shape.cpus; cpu++) {
    new Tlb(mem, cpu).forEachValid((meta, vpnLo, pfn) => {
      if ((meta & TLB_SIZE_MASK) >> TLB_SIZE_SHIFT !== PAGE_SIZE_2M) return;
      const vpn = (vpnLo >>> 0) + ((meta & TLB_VPNHI_MASK) >>> TLB_VPNHI_SHIFT) * 2 ** 32;
      const va = vpn * 2 ** 21;
      if (va < ASI_PHYSMAP_BASE || va >= ASI_PHYSMAP_BASE + ASI_PHYSMAP_SPAN) return;
      if (pfn >= 0 && pfn < frames && blockNonsensitive(v.pageblock, pfn)) return;
      out.push(`asi physmap: cpu ${cpu} TLB still translates ${hex(va)} to block ${pfn}, which is sensitive now`);
    });
  }
  return out;
}

/** Whether a va (a TLB entry's, or a table walk's) lies in the nonsensitive physmap. */
export function inAsiPhysmap(va: number): boolean {
  return va >= ASI_PHYSMAP_BASE && va < ASI_PHYSMAP_BASE + ASI_PHYSMAP_SPAN;
}
