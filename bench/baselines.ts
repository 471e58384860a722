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
      for (let k = 0; k < live; k++) { const pfn = stack[--top]!; held[k] = pfn; sum += pfn; }
      for (let k = live - 1; k >= 0; k--) stack[top++] = held[k]!;
    }
    return sum;
  };
  return { stack, run };
}

/** A 4-way set-associative tag lookup over an Int32Array: the core of a TLB hit. */
export function makeRawTlb(sets: number, ways: number): { fill: (vpn: number, pfn: number) => void; lookupLoop: (vpns: Int32Array, iterations: number) => number } {
  const tags = new Int32Array(sets * ways).fill(-1);
  const pfns = new Int32Array(sets * ways);
  const cursor = new Int32Array(sets);
  const mask = sets - 1;
  const fill = (vpn: number, pfn: number): void => {
    const set = vpn & mask;
    const way = cursor[set]!;
    cursor[set] = (way + 1) % ways;
    tags[set * ways + way] = vpn;
    pfns[set * ways + way] = pfn;
  };
  const lookupLoop = (vpns: Int32Array, iterations: number): number => {
    let sum = 0;
    const n = vpns.length;
    for (let i = 0; i < iterations; i++) {
      const vpn = vpns[i % n]!;
      const base = (vpn & mask) * ways;
      for (let w = 0; w < ways; w++) {
        if (tags[base + w] === vpn) { sum += pfns[base + w]!; break; }
      }
    }
    return sum;
  };
  return { fill, lookupLoop };
}
