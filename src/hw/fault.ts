// Results of an access or a walk that did not translate. Negative so that
// `access()` can return a pfn (>= 0) or a fault in one small integer, with no
// exception and no allocation on the hot path.

/** A paging-structure entry on the path, or the leaf, is not present. */
export const FAULT_NOT_PRESENT = -1;
/** Write through a translation whose combined rights lack RW (CR0.WP=1: also for supervisor). */
export const FAULT_WRITE_PROTECT = -2;
/** User-mode access through a translation whose combined rights lack US. */
export const FAULT_USER_SUPERVISOR = -3;
/** Reserved bit: PS set in a PML4 entry. */
export const FAULT_RESERVED = -4;
/**
 * The walk reached a frame that is not a page table (a stale paging-structure
 * cache pointer, or a corrupt CR3). Real hardware would translate through
 * garbage; we stop, after the oracle recorded the violation.
 */
export const FAULT_BAD_TABLE = -5;

export const FAULT_NAMES: Readonly<Record<number, string>> = {
  [FAULT_NOT_PRESENT]: 'not-present',
  [FAULT_WRITE_PROTECT]: 'write-protect',
  [FAULT_USER_SUPERVISOR]: 'user-supervisor',
  [FAULT_RESERVED]: 'reserved-bit',
  [FAULT_BAD_TABLE]: 'bad-table',
};
