// Cpumask (include/linux/cpumask.h) of NR_CPUS = 64 bits over two Int32
// words at a[i]: CPU c is bit (c & 31) of word a[i + (c >>> 5)]. Callers
// pass a valid CPU (0..63); nothing here checks, as in the kernel.
//
// Which operations are atomic follows the kernel:
// - set/clear/test-and-set are atomic RMWs (set_bit/clear_bit, lock-prefixed
//   on x86): CPUs switching mm set and clear their own bits in a shared
//   mm_cpumask concurrently, and a plain read-or-write of the word would
//   undo another CPU's bit set or cleared in between.
// - test, weight, first/next and copy are plain reads (test_bit is a plain
//   mov): a read cannot undo anyone's update, Int32 element reads are
//   tear-free, and the answer is stale the moment it is returned whichever
//   load produced it. Ordering against other memory (the flush path reads
//   mm_cpumask after writing the PTE) must come from an atomic the caller
//   already does, exactly as the kernel relies on its own barriers there.
//   Do not poll a bit in a loop without a spinHook() or Atomics call inside:
//   the memory model lets the engine hoist a plain load out of a loop.
// - clear/or/and write a destination the caller owns (a private copy, or a
//   mask under its lock), non-atomic like cpumask_clear/cpumask_or.

export const CPUMASK_WORDS = 2;
export const NR_CPUS = 64;

export function cpumaskSetCpu(a: Int32Array, i: number, cpu: number): void {
  Atomics.or(a, i + (cpu >>> 5), 1 << (cpu & 31));
}

export function cpumaskClearCpu(a: Int32Array, i: number, cpu: number): void {
  Atomics.and(a, i + (cpu >>> 5), ~(1 << (cpu & 31)));
}

export function cpumaskTestCpu(a: Int32Array, i: number, cpu: number): boolean {
  return (a[i + (cpu >>> 5)] & (1 << (cpu & 31))) !== 0;
}

/** Sets the bit and returns whether it was already set (cpumask_test_and_set_cpu). */
export function cpumaskTestAndSetCpu(a: Int32Array, i: number, cpu: number): boolean {
  const bit = 1 << (cpu & 31);
  return (Atomics.or(a, i + (cpu >>> 5), bit) & bit) !== 0;
}

export function cpumaskWeight(a: Int32Array, i: number): number {
  return popcount32(a[i]) + popcount32(a[i + 1]);
}

/** Lowest set CPU, or -1 if the mask is empty. */
export function cpumaskFirst(a: Int32Array, i: number): number {
  return cpumaskNext(a, i, -1);
}

/**
 * Lowest set CPU strictly above `cpu`, or -1 if none (the kernel returns
 * nr_cpu_ids; -1 keeps `for (c = first; c >= 0; c = next)` loops simple).
 */
export function cpumaskNext(a: Int32Array, i: number, cpu: number): number {
  const n = cpu + 1;
  if (n >= NR_CPUS) return -1;
  let w = n >>> 5;
  // Drop the bits at or below `cpu` in its own word only.
  let bits = a[i + w] & (-1 << (n & 31));
  if (bits === 0 && w === 0) {
    w = 1;
    bits = a[i + 1];
  }
  if (bits === 0) return -1;
  return (w << 5) + ctz32(bits);
}

/** Snapshot into dst[j], dst[j + 1] (a plain pair the caller owns). */
export function cpumaskCopy(a: Int32Array, i: number, dst: Int32Array, j: number): void {
  dst[j] = a[i];
  dst[j + 1] = a[i + 1];
}

export function cpumaskClear(a: Int32Array, i: number): void {
  a[i] = 0;
  a[i + 1] = 0;
}

/** dst = x | y. */
export function cpumaskOr(dst: Int32Array, d: number, x: Int32Array, i: number, y: Int32Array, j: number): void {
  dst[d] = x[i] | y[j];
  dst[d + 1] = x[i + 1] | y[j + 1];
}

/** dst = x & y; returns whether the result is non-empty (cpumask_and). */
export function cpumaskAnd(dst: Int32Array, d: number, x: Int32Array, i: number, y: Int32Array, j: number): boolean {
  const lo = x[i] & y[j];
  const hi = x[i + 1] & y[j + 1];
  dst[d] = lo;
  dst[d + 1] = hi;
  return (lo | hi) !== 0;
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

function ctz32(v: number): number {
  // v & -v isolates the lowest set bit (bit 31 included: -(-2^31) wraps
  // back to -2^31 under the int32 conversion of &).
  return 31 - Math.clz32(v & -v);
}
