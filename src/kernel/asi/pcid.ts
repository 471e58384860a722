// PCIDs of the nonsensitive address spaces. As the ASI series does
// (arch/x86/include/asm/tlbflush.h, "ASI class bits" below the PTI user
// bit), a class number sits in PCID bits above the dynamic ASIDs, so every
// ASID slot has one PCID for its mm's sensitive (full) space and one per
// ASI class for its nonsensitive space; both are tied to the slot, so
// handing the slot to another mm must flush both (switch-mm.ts resets the
// nonsensitive one's generation).

import { kernPcid } from '../tlb/asid.js';

/** The ASI class of user processes (ASI_CLASS_USERSPACE); the only class modelled. */
export const ASI_CLASS_USERSPACE = 0;
/** First PCID bit of the class field (bits 10-11 without PTI). */
export const ASI_PCID_SHIFT = 10;
/** Any PCID at or above this is a nonsensitive one: the Mmu's one-compare test. */
export const ASI_PCID_MIN = 1 << ASI_PCID_SHIFT;

/** asi_pcid(): the nonsensitive PCID of ASID slot asid for the userspace class. */
export function asiPcid(asid: number): number {
  return kernPcid(asid) | ((ASI_CLASS_USERSPACE + 1) << ASI_PCID_SHIFT);
}

/** Whether a PCID tags a nonsensitive address space. */
export function isAsiPcid(pcid: number): boolean {
  return pcid >= ASI_PCID_MIN;
}

/** The ASID slot of a nonsensitive PCID. */
export function asiPcidSlot(pcid: number): number {
  return (pcid & (ASI_PCID_MIN - 1)) - 1;
}
