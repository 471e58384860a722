// tlb_gen arithmetic. The kernel's tlb_gen is a 64-bit counter that never
// wraps; ours is an Int32 word (Atomics work on 32-bit words), so every
// comparison is made on the difference, which stays right across the wrap as
// long as two generations being compared are less than 2^31 apart.

/** a is older than b. */
export function genBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a is b or newer. */
export function genAtLeast(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The generation after g. */
export function genNext(g: number): number {
  return (g + 1) | 0;
}
