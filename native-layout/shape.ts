// The size of the emulated machine. Every SharedArrayBuffer region's record
// count is a function of this shape; record formats are not (see regions.ts).

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** Largest buddy order (mm/page_alloc.c MAX_PAGE_ORDER): 2^10 frames = 4 MiB. */
export const MAX_PAGE_ORDER = 10;
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
/** pageblock_order on x86-64 with THP: one PMD, 512 frames, 2 MiB. */
export const PAGEBLOCK_ORDER = 9;
export const PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER;

export const MAX_CPUS = 64;
/** Upper bounds of the kernel object tables (see validateShape). */
export const MAX_MMS = 4096;
export const MAX_TASKS = 16384;
export const MAX_VMAS = 1024;
/** Emulated memory is sized in whole max-order blocks. */
export const MEM_GRANULE = PAGE_SIZE << MAX_PAGE_ORDER;
export const MIN_MEM_BYTES = 2 * MEM_GRANULE;
export const MAX_MEM_BYTES = 64 * 1024 * 1024 * 1024;

export interface MachineShape {
  /** Emulated physical memory in bytes (multiple of 4 MiB). */
  memBytes: number;
  /** Simulated CPUs, 1..64. */
  cpus: number;
  /** 4 KiB TLB: sets (power of two) x ways. */
  tlb4kSets: number;
  tlb4kWays: number;
  /** 2 MiB / 1 GiB TLB: sets (power of two) x ways. */
  tlbHugeSets: number;
  tlbHugeWays: number;
  /** Paging-structure cache entries per CPU (cached PDE pointers). */
  pscEntries: number;
  /** Page-table pages that can exist at once (each holds 512 eight-byte entries). */
  ptPages: number;
  /** Trace ring entries per CPU (power of two). */
  traceEntries: number;
  /** mm_structs that can exist at once (record 0 is init_mm). */
  maxMms: number;
  /** Tasks (user threads and kernel threads) that can exist at once. */
  maxTasks: number;
  /** VMA slots per mm. */
  maxVmas: number;
}

/**
 * Defaults near a modern Intel core's second-level TLB: 2048 4 KiB entries
 * (256 sets x 8 ways) and 32 huge entries. The page-table store covers a full
 * 4 KiB mapping of all memory once plus slack for upper levels.
 */
export function defaultShape(overrides: Partial<MachineShape> = {}): MachineShape {
  const memBytes = overrides.memBytes ?? 256 * 1024 * 1024;
  const frames = Math.floor(memBytes / PAGE_SIZE);
  return {
    ...kernelTableDefaults(overrides.cpus ?? 4),
    memBytes,
    cpus: 4,
    tlb4kSets: 256,
    tlb4kWays: 8,
    tlbHugeSets: 8,
    tlbHugeWays: 4,
    pscEntries: 32,
    ptPages: Math.floor(frames / 512) + 256,
    traceEntries: 1024,
    ...overrides,
  };
}

/**
 * Sizes of the kernel's object tables for a CPU count (issue 12: every
 * scenario must run at 1..64 CPUs with its defaults). The scenarios scale
 * with the CPUs: a thread per CPU in one process (one VMA each, so a
 * process needs a VMA slot per CPU), 2 single-threaded processes per CPU
 * (fixmap-switch, processes mode), 2 user threads per CPU plus a kernel
 * thread per CPU (munmap-storm). The fixed minimums are the sizes every
 * machine had before, so small machines are laid out as they were.
 */
export function kernelTableDefaults(cpus: number): Pick<MachineShape, 'maxMms' | 'maxTasks' | 'maxVmas'> {
  return {
    maxMms: Math.max(64, 2 * cpus + 8),
    maxTasks: Math.max(128, 4 * cpus),
    maxVmas: Math.max(32, 2 * cpus + 16),
  };
}

export function frameCount(shape: MachineShape): number {
  return shape.memBytes / PAGE_SIZE;
}

export function pageblockCount(shape: MachineShape): number {
  return frameCount(shape) / PAGEBLOCK_NR_PAGES;
}

const isPow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** Throws a ShapeError naming the first bad value and the valid range. */
export function validateShape(shape: MachineShape): void {
  const { memBytes, cpus } = shape;
  if (!Number.isInteger(memBytes) || memBytes < MIN_MEM_BYTES || memBytes > MAX_MEM_BYTES || memBytes % MEM_GRANULE !== 0) {
    throw new ShapeError(`memory size ${memBytes} bytes is invalid: use a multiple of 4M between 8M and 64G`);
  }
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) {
    throw new ShapeError(`cpus ${cpus} is invalid: use 1..${MAX_CPUS}`);
  }
  for (const key of ['tlb4kSets', 'tlbHugeSets', 'traceEntries'] as const) {
    if (!isPow2(shape[key])) throw new ShapeError(`${key} ${shape[key]} is invalid: use a power of two`);
  }
  for (const key of ['tlb4kWays', 'tlbHugeWays', 'pscEntries', 'ptPages'] as const) {
    if (!Number.isInteger(shape[key]) || shape[key] < 1) throw new ShapeError(`${key} ${shape[key]} is invalid: use a positive integer`);
  }
  // mm ids travel in 16 bits of an IPI's info word, task ids in 15.
  const limits = { maxMms: MAX_MMS, maxTasks: MAX_TASKS, maxVmas: MAX_VMAS } as const;
  for (const key of ['maxMms', 'maxTasks', 'maxVmas'] as const) {
    const v = shape[key];
    const lo = key === 'maxMms' ? 2 : 1;
    if (!Number.isInteger(v) || v < lo || v > limits[key]) throw new ShapeError(`${key} ${v} is invalid: use ${lo}..${limits[key]}`);
  }
}

export class ShapeError extends Error {
  override name = 'ShapeError';
}
