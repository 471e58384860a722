// The one pseudo-random step every seeded stream here uses (Marsaglia's
// xorshift32, shifts 13/17/5): the workloads' choices, the hardware's
// speculation targets, the kernel points' stalls, the serialized
// scheduler, the NUMA migration rate. One function so the streams stay
// the same generator; each caller keeps its own state.

/** The state after s (int32; callers wanting 0..2^32-1 take `>>> 0`). Never 0 unless s is 0. */
export function xorshift32(s: number): number {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s;
}
