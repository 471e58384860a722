// Shared by the sync-* test workers.

/**
 * Holds every worker until all `n` have arrived, so the measured loops
 * really overlap: worker start-up (tens of ms) is longer than a whole loop.
 */
export function startTogether(a, idx, n) {
  if (Atomics.add(a, idx, 1) + 1 === n) {
    Atomics.notify(a, idx);
    return;
  }
  for (;;) {
    const v = Atomics.load(a, idx);
    if (v >= n) return;
    Atomics.wait(a, idx, v, 10);
  }
}
