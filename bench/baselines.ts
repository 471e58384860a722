// Raw baselines: the fastest loop that does the same job with no emulation,
// written over plain typed arrays. Benchmarks report against these.

/** Order-0 "allocator": a free stack of frame numbers in an Int32Array. */
export function makeFreeStack(frames: number): { stack: Int32Array; run: (pairs: number, live: number) => number } {
  const stack = new Int32Array(frames);
  for (let i = 0; i < frames; i++) stack[i] = i;
  const held = new Int32Array(frames);
  let top = frames;
  // Same access pattern as the allocator benchmark: take `live` frames, give
  // them back, repeat.
  const run = (pairs: number, live: number): number => {
    let sum = 0;
    for (let done = 0; done < pairs; done += live) {
      for (let k = 0; k < live; k++) { const pfn = stack[--top]!; held[k] = pfn; sum ^= pfn; }
      for (let k = live - 1; k >= 0; k--) stack[top++] = held[k]!;
    }
    return sum;
  };
  return { stack, run };
}

/**
 * A set-associative tag lookup over an Int32Array: the core of a TLB hit.
 * A class with the geometry in fields, not a closure over constants: V8
 * specialises a closure on its captured constants only while one instance
 * exists (then unrolls the ways loop), which made the floor move 2-3x
 * between runs; the subject reads its geometry from fields too.
 */
export class RawTlb {
  private readonly tags: Int32Array;
  private readonly pfns: Int32Array;
  private readonly cursor: Int32Array;
  private readonly mask: number;

  constructor(sets: number, private readonly ways: number) {
    this.tags = new Int32Array(sets * ways).fill(-1);
    this.pfns = new Int32Array(sets * ways);
    this.cursor = new Int32Array(sets);
    this.mask = sets - 1;
  }

  fill(vpn: number, pfn: number): void {
    const set = vpn & this.mask;
    const way = this.cursor[set]!;
    this.cursor[set] = (way + 1) % this.ways;
    this.tags[set * this.ways + way] = vpn;
    this.pfns[set * this.ways + way] = pfn;
  }

  /**
   * `iterations` lookups cycling through vpns (its length a power of two,
   * indexed as the subject does). The checksum is an xor: a sum would
   * outgrow int32 and make V8 re-tier the loop mid-run.
   */
  lookupLoop(vpns: Int32Array, iterations: number): number {
    const { tags, pfns, mask, ways } = this;
    let sum = 0;
    const m = vpns.length - 1;
    for (let i = 0; i < iterations; i++) {
      const vpn = vpns[i & m]!;
      const base = (vpn & mask) * ways;
      for (let w = 0; w < ways; w++) {
        if (tags[base + w] === vpn) { sum ^= pfns[base + w]!; break; }
      }
    }
    return sum;
  }
}

export function makeRawTlb(sets: number, ways: number): RawTlb {
  return new RawTlb(sets, ways);
}

/**
 * The free stack with one spinlock taken and released around every take and
 * every return: the synchronisation a per-CPU list cannot avoid (the
 * kernel's pcp_spin_trylock / pcp_spin_unlock), written as the cheapest
 * test-and-set lock over an Int32Array (one compareExchange, one store).
 */
export function makeLockedFreeStack(frames: number): { run: (pairs: number, live: number) => number } {
  const stack = new Int32Array(frames);
  for (let i = 0; i < frames; i++) stack[i] = i;
  const held = new Int32Array(frames);
  const lock = new Int32Array(new SharedArrayBuffer(4));
  let top = frames;
  const run = (pairs: number, live: number): number => {
    let sum = 0;
    for (let done = 0; done < pairs; done += live) {
      for (let k = 0; k < live; k++) {
        while (Atomics.compareExchange(lock, 0, 0, 1) !== 0);
        const pfn = stack[--top]!;
        Atomics.store(lock, 0, 0);
        held[k] = pfn;
        sum ^= pfn;
      }
      for (let k = live - 1; k >= 0; k--) {
        while (Atomics.compareExchange(lock, 0, 0, 1) !== 0);
        stack[top++] = held[k]!;
        Atomics.store(lock, 0, 0);
      }
    }
    return sum;
  };
  return { run };
}

/**
 * Four dependent loads per address over a raw 4-level table in one
 * Int32Array (512 entries per table; an entry is the next table's index,
 * the last level's is the frame): the floor of a 4-level page walk.
 * map(va, pfn) builds the path; walkLoop(vas, iterations) walks them.
 */
export function makeRawPageTable(maxTables: number): {
  map: (va: number, pfn: number) => void;
  walkLoop: (vas: Float64Array, iterations: number) => number;
} {
  const t = new Int32Array(maxTables * 512).fill(-1);
  let used = 1; // table 0 is the root
  const idx = (va: number, level: number): number => Math.floor(va / 2 ** (12 + 9 * (level - 1))) % 512;
  const map = (va: number, pfn: number): void => {
    let table = 0;
    for (let level = 4; level > 1; level--) {
      const e = table * 512 + idx(va, level);
      if (t[e]! < 0) t[e] = used++;
      table = t[e]!;
    }
    t[table * 512 + idx(va, 1)] = pfn;
  };
  const walkLoop = (vas: Float64Array, iterations: number): number => {
    let sum = 0;
    const n = vas.length;
    for (let i = 0; i < iterations; i++) {
      const va = vas[i % n]!;
      const l4 = t[((va / 549755813888) & 511)]!;
      const l3 = t[l4 * 512 + ((va / 1073741824) & 511)]!;
      const l2 = t[l3 * 512 + ((va / 2097152) & 511)]!;
      sum ^= t[l2 * 512 + ((va / 4096) & 511)]!;
    }
    return sum;
  };
  return { map, walkLoop };
}
