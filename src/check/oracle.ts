// The inline oracle (SEMANTICS.md §9, items 1-4): checks that cost a load and
// a compare on the paths that can break them, and the one place violations
// are recorded. The oracle region keeps a count and the first record (the
// one that explains the run); each CPU also counts its own in its counter
// block. Stopping the run, or counting on, is the engine's decision.

import { C } from '../../native-layout/counters.js';
import {
  COUNTERS_STRIDE, ORACLE_CPU, ORACLE_FILL_GEN, ORACLE_FRAME_GEN, ORACLE_KIND, ORACLE_OP, ORACLE_PFN,
  ORACLE_SLOT_CPU, ORACLE_TASK, ORACLE_VA_HI, ORACLE_VA_LO, ORACLE_VIOLATIONS,
} from '../../native-layout/fields.js';
import type { MachineViews } from '../../native-layout/memory.js';

/** A TLB hit translated to a frame whose generation moved since the fill: use after free. */
export const V_STALE_TLB = 1;
/** A walk (through a cached PDE pointer, or from CR3) reached a frame that is not a page table. */
export const V_WALK_NON_PAGETABLE = 2;
/** A cached PDE pointer led to a page-table frame freed and reused since the fill. */
export const V_STALE_PSC = 3;
/** Restricted (ASI) address space reached a frame its domain may not see. */
export const V_ISOLATION = 4;
/** A frame was read before being zeroed since its previous owner. */
export const V_DATA_LEAK = 5;
/** An ephmap slot was used by another CPU, or survived its put in the local TLB. */
export const V_EPHMAP = 6;
/**
 * A user page read back something its program cannot have seen: not what
 * the program last wrote, not the zero page after a discard, or another
 * process's data (lost writes, copy-on-write leaks). fillGen holds the
 * expected content word, frameGen the one read.
 */
export const V_READBACK = 7;
/** An access to an address its program had unmapped (munmap returned) went through. */
export const V_UNMAPPED_ACCESS = 8;
/**
 * When a flush IPI reached a CPU running the mm (not lazy), its TLB still
 * translated a page of that mm to a frame that is free or was reallocated:
 * the initiator freed the page before this CPU flushed (flush-audit.ts).
 */
export const V_STALE_AT_FLUSH = 9;
/**
 * A user write went through after mprotect() took write permission away
 * and returned (a stale writable TLB entry: the downgrade's flush missed
 * it). fillGen holds the protection epoch the writer saw, frameGen the
 * epoch after the write (equal: no re-grant could have raced it).
 */
export const V_WRITE_AFTER_DOWNGRADE = 10;

/**
 * ASI: a pageblock's nonsensitive physmap mapping disagrees with its
 * freetype, or an allocation got a block of the other sensitivity (checked
 * at every allocation and free: src/kernel/asi/flip-ops.ts). fillGen holds
 * the sensitivity expected (1 = nonsensitive), frameGen the mapping found.
 */
export const V_ASI_MAPPING = 11;

/**
 * ASI (src/kernel/asi): code that reads CR3 found curr_asi saying "not in
 * the nonsensitive space" while CR3 holds a nonsensitive PCID: a fault on
 * sensitive data there would not be recognised as an ASI fault (injectable
 * as asi-clear-curr-before-cr3). va holds the CR3 PCID, pfn the CR3 root.
 */
export const V_ASI_STATE = 12;

// lockdep-style checker (issue 7 remainder, src/check/lockdep.ts). The record's
// va holds the lock class acquired (or waited under), pfn the held class it
// conflicts with, fillGen / frameGen the held stacks of this CPU and of the
// other one (nibbles: class + 1), slotCpu the other CPU. lockdepReport()
// renders them with names.

/** A lock class taken in the reverse of an order some CPU already used (or the declared one). */
export const V_LOCK_ORDER = 13;
/** A wait for IPI acknowledgements while holding a lock taken with interrupts off. */
export const V_FLUSH_UNDER_LOCK = 14;
/** A path that may wait for other CPUs entered with interrupts off (might_sleep in atomic context). */
export const V_SLEEP_IN_ATOMIC = 15;
/**
 * An access through a direct map (the nonsensitive physmap) reached a frame
 * of an unmapped pageblock (FREETYPE_UNMAPPED): its translation should not
 * exist anywhere. pfn the frame, fillGen the CPU that used the entry.
 */
export const V_UNMAPPED_DIRECT = 16;

export const VIOLATION_NAMES: readonly string[] = [
  'none', 'stale-tlb', 'walk-non-pagetable', 'stale-psc', 'isolation', 'data-leak', 'ephmap', 'readback',
  'unmapped-access', 'stale-at-flush', 'write-after-downgrade', 'asi-mapping', 'asi-state',
  // lockdep (issue 7 remainder)
  'lock-order', 'flush-under-lock', 'sleep-in-atomic', 'unmapped-direct-map',
];

const VA_SPLIT = 2 ** 32;
const C_VIOLATIONS = C.violations;

/**
 * Records a violation. The first reporter (the one that moves the count from
 * 0) owns the record; later ones only count. Readers look at the record at a
 * quiescent point, after the run stopped.
 */
export function reportViolation(
  views: MachineViews, cpu: number, kind: number, va: number, pfn: number,
  fillGen: number, frameGen: number, task: number, op: number, slotCpu = -1,
): void {
  views.counters[cpu * COUNTERS_STRIDE + C_VIOLATIONS] += 1;
  const o = views.oracle;
  if (Atomics.add(o, ORACLE_VIOLATIONS, 1) !== 0) return;
  o[ORACLE_KIND] = kind;
  o[ORACLE_CPU] = cpu;
  o[ORACLE_TASK] = task;
  o[ORACLE_VA_LO] = va % VA_SPLIT;
  o[ORACLE_VA_HI] = Math.floor(va / VA_SPLIT);
  o[ORACLE_PFN] = pfn;
  o[ORACLE_FILL_GEN] = fillGen;
  o[ORACLE_FRAME_GEN] = frameGen;
  o[ORACLE_OP] = op;
  o[ORACLE_SLOT_CPU] = slotCpu + 1;
}

export interface ViolationRecord {
  readonly kind: number;
  readonly kindName: string;
  readonly cpu: number;
  readonly task: number;
  readonly va: number;
  readonly pfn: number;
  readonly fillGen: number;
  readonly frameGen: number;
  readonly op: number;
  /** Ephemeral-map violations: the CPU that owned the slot (cpu cached or used it); -1 otherwise. */
  readonly slotCpu: number;
}

export function violationCount(views: MachineViews): number {
  return Atomics.load(views.oracle, ORACLE_VIOLATIONS);
}

export function firstViolation(views: MachineViews): ViolationRecord | null {
  const o = views.oracle;
  if (Atomics.load(o, ORACLE_VIOLATIONS) === 0) return null;
  const kind = o[ORACLE_KIND];
  return {
    kind,
    kindName: VIOLATION_NAMES[kind] ?? `kind ${kind}`,
    cpu: o[ORACLE_CPU],
    task: o[ORACLE_TASK],
    va: (o[ORACLE_VA_LO] >>> 0) + o[ORACLE_VA_HI] * VA_SPLIT,
    pfn: o[ORACLE_PFN],
    fillGen: o[ORACLE_FILL_GEN],
    frameGen: o[ORACLE_FRAME_GEN],
    op: o[ORACLE_OP],
    slotCpu: o[ORACLE_SLOT_CPU] - 1,
  };
}

/** Forgets recorded violations (between phases of a test or a soak shard). */
export function resetOracle(views: MachineViews): void {
  views.oracle.fill(0);
}
