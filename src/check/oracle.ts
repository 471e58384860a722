// The inline oracle (SEMANTICS.md §9, items 1-4): checks that cost a load and
// a compare on the paths that can break them, and the one place violations
// are recorded. The oracle region keeps a count per kind and the first few
// records of each kind (the first one explains the run; the others show
// whether later ones are the same race), each with a snapshot of every
// CPU's trace ring taken when it happened; each CPU also counts its own in
// its counter block. Stopping the run, or counting on, is the engine's
// decision.

import { C as C_ } from '../../native-layout/counters.js';
import {
  COUNTERS_STRIDE as COUNTERS_STRIDE_, ORACLE_KIND_COUNT as ORACLE_KIND_COUNT_, ORACLE_SLOTS_USED as ORACLE_SLOTS_USED_,
  ORACLE_VIOLATIONS as ORACLE_VIOLATIONS_, OREC_CPU as OREC_CPU_, OREC_FILL_GEN as OREC_FILL_GEN_, OREC_FRAME_GEN as OREC_FRAME_GEN_,
  OREC_KIND as OREC_KIND_, OREC_OP as OREC_OP_, OREC_PFN as OREC_PFN_, OREC_READY as OREC_READY_, OREC_SLOT_CPU as OREC_SLOT_CPU_,
  OREC_STRIDE as OREC_STRIDE_, OREC_TASK as OREC_TASK_, OREC_VA_HI as OREC_VA_HI_, OREC_VA_LO as OREC_VA_LO_, OREC_SW_FREED_BY as OREC_SW_FREED_BY_,
  OREC_SW_LEVEL as OREC_SW_LEVEL_, OREC_SW_WALKER as OREC_SW_WALKER_, OSNAP_STRIDE as OSNAP_STRIDE_, TRACE_HEAD_STRIDE as TRACE_HEAD_STRIDE_,
  TRACE_STRIDE as TRACE_STRIDE_,
} from '../../native-layout/fields.js';
import {
  VIOLATION_KINDS_MAX as VIOLATION_KINDS_MAX_, VIOLATION_RECORDS_PER_KIND as VIOLATION_RECORDS_PER_KIND_, VIOLATION_SLOTS as VIOLATION_SLOTS_,
  VIOLATION_SNAP_EVENTS as VIOLATION_SNAP_EVENTS_,
} from '../../native-layout/regions.js';
import type { MachineViews } from '../../native-layout/memory.js';
import { traceRingOf } from '../trace/ring.js';
import { EV_VIOLATION } from '../trace/events.js';
import { WALKER_NAMES } from './walkers.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const VIOLATION_KINDS_MAX = VIOLATION_KINDS_MAX_, VIOLATION_RECORDS_PER_KIND = VIOLATION_RECORDS_PER_KIND_, VIOLATION_SLOTS = VIOLATION_SLOTS_,
  VIOLATION_SNAP_EVENTS = VIOLATION_SNAP_EVENTS_;
const C = C_, COUNTERS_STRIDE = COUNTERS_STRIDE_, ORACLE_KIND_COUNT = ORACLE_KIND_COUNT_, ORACLE_SLOTS_USED = ORACLE_SLOTS_USED_,
  ORACLE_VIOLATIONS = ORACLE_VIOLATIONS_, OREC_CPU = OREC_CPU_, OREC_FILL_GEN = OREC_FILL_GEN_, OREC_FRAME_GEN = OREC_FRAME_GEN_,
  OREC_KIND = OREC_KIND_, OREC_OP = OREC_OP_, OREC_PFN = OREC_PFN_, OREC_READY = OREC_READY_, OREC_SLOT_CPU = OREC_SLOT_CPU_,
  OREC_STRIDE = OREC_STRIDE_, OREC_TASK = OREC_TASK_, OREC_VA_HI = OREC_VA_HI_, OREC_VA_LO = OREC_VA_LO_, OREC_SW_FREED_BY = OREC_SW_FREED_BY_,
  OREC_SW_LEVEL = OREC_SW_LEVEL_, OREC_SW_WALKER = OREC_SW_WALKER_, OSNAP_STRIDE = OSNAP_STRIDE_, TRACE_HEAD_STRIDE = TRACE_HEAD_STRIDE_,
  TRACE_STRIDE = TRACE_STRIDE_;

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

/**
 * Checked software walks (reach, issue 11; src/check/sw-walk.ts): a kernel
 * page-table walker stepped into a table frame that is no longer a live
 * page table of the mm it walks (freed, or reused), or found the table it
 * holds locked retracted and freed under it. pfn is the table frame,
 * fillGen its generation when the walker first stepped in, frameGen now;
 * the record also names the walker, the level and the CPU that freed it.
 */
export const V_SW_WALK_FREED_TABLE = 13;

// lockdep-style checker (issue 7 remainder, src/check/lockdep.ts). The record's
// va holds the lock class acquired (or waited under), pfn the held class it
// conflicts with, fillGen / frameGen the held stacks of this CPU and of the
// other one (nibbles: class + 1), slotCpu the other CPU. lockdepReport()
// renders them with names.

/** A lock class taken in the reverse of an order some CPU already used (or the declared one). */
export const V_LOCK_ORDER = 14;
/** A wait for IPI acknowledgements while holding a lock taken with interrupts off. */
export const V_FLUSH_UNDER_LOCK = 15;
/** A path that may wait for other CPUs entered with interrupts off (might_sleep in atomic context). */
export const V_SLEEP_IN_ATOMIC = 16;
/**
 * An access through a direct map (the nonsensitive physmap) reached a frame
 * of an unmapped pageblock (FREETYPE_UNMAPPED): its translation should not
 * exist anywhere. pfn the frame, fillGen the CPU that used the entry.
 */
export const V_UNMAPPED_DIRECT = 17;

// guest_memfd without a direct map (issue 8, src/kernel/gmem, src/check/gmem.ts)
/**
 * A CPU read a guest_memfd folio through the ordinary direct map (a stale
 * TLB entry the zap did not flush, or a leaf never cleared). va is the
 * direct-map address, pfn the frame, fillGen the VM whose data it held,
 * frameGen the CPU's TLB entry size (0 4 KiB, 1 2 MiB, 2 1 GiB; -1 a walk).
 */
export const V_GMEM_DIRECT_MAP = 18;
/**
 * A frame reached the page allocator's free path while absent from the
 * direct map (the folio was freed before its direct map was restored: the
 * next owner's kernel access faults). pfn the frame.
 */
export const V_DIRECT_MAP_HOLE = 19;
/**
 * lockdep: a non-recursive lock class taken again by the CPU that holds it
 * (the direct-map [un]map path re-entered from its own page-table
 * allocation: a self-deadlock, or unbounded recursion).
 */
export const V_RECURSIVE_LOCKING = 20;

/**
 * mshare and secondary MMUs (issue 8): an IOMMU-like device's IOTLB hit
 * translated to a frame whose generation moved since the fill (freed, and
 * maybe reused): the mmu notifier that should have invalidated the IOTLB
 * before the free never reached it (src/hw/iommu.ts). va the device
 * address, pfn the frame, fillGen / frameGen the generations, slotCpu the
 * device id.
 */
export const V_STALE_IOTLB = 21;

/**
 * Ghost-state invariant (issue 11 item 6; src/kernel/smp.ts): a sender's
 * wait for a SYNC cross-CPU call returned (or was skipped) while the target
 * had not yet finished running the function: smp_call_function_many_cond's
 * postcondition, checked on every waited call instead of waiting for a
 * stale entry to be used after the frame is reused. pfn holds the target
 * CPU, va the IPI function id, fillGen the call's sequence number and
 * frameGen the last one the target finished.
 */
export const V_IPI_NOT_RUN = 22;

/**
 * Ghost-state invariant (issue 11 item 6; src/check/ghost-gen.ts): a CPU
 * recorded a tlb_gen for an ASID slot (tlb_state.ctxs[asid].tlb_gen) ahead
 * of the flushes its PCID really had: the generation it claims is not
 * covered by a full flush of that mm's PCID or by consecutive partial
 * flushes, or the slot was never flushed for the mm it now names. va holds
 * the ASID slot, pfn the mm, fillGen the generation recorded and frameGen
 * the one really flushed (-1: the slot was not flushed for this mm at all).
 */
export const V_FLUSH_GEN_AHEAD = 23;

/**
 * Ghost-state invariant (issue 11 item 6; src/check/ghost-table.ts): a user
 * page-table page was freed while some CPU's paging-structure cache still
 * pointed at it under a PCID that CPU could walk with before flushing (its
 * loaded PCID for the owner mm, lazy or not, or a current ASID slot of it).
 * va holds the 2 MiB region the entry caches, pfn the table frame, cpu the
 * CPU holding the entry, fillGen the table's generation and frameGen the
 * CPU that freed it.
 */
export const V_FREED_TABLE_CACHED = 24;

/**
 * Ghost-state invariant (issue 11 item 6; src/check/ghost-writeback.ts): a
 * page-cache page was written back while some CPU could still store to it
 * through a dirty, writable TLB entry under a PCID it can use without a
 * flush, so a store would change the page and leave it clean, to be dropped
 * with it. va holds the entry's user address, pfn the page, cpu the CPU
 * holding the entry, fillGen the entry's fill generation, frameGen the CPU
 * writing the page back and slotCpu the mm the entry belongs to.
 */
export const V_WRITEBACK_DIRTY_CACHED = 25;

/**
 * Checked software walks (issue 11; src/check/sw-walk.ts): an rmap walker
 * held a PTE table's lock, found through address va, and when it let go the
 * table was linked somewhere else (moved whole by mremap, under the walker's
 * lock: its flush of va missed the new address). pfn the table frame,
 * fillGen its generation, frameGen the table linked at va now (-1 none);
 * the record names the walker.
 */
export const V_SW_WALK_MOVED_TABLE = 26;

/**
 * A user access kept faulting, MAX_FAULT_RETRIES retries in a row, with the
 * fault handler reporting no error for any fault it was given
 * (src/kernel/mm/uaccess.ts userAccess; a walk through a freed table is
 * retried without it): the handler's PTE never became visible to the
 * hardware walk, so the task would spin in its fault loop for ever. One
 * cause: a PTE written into a table that was unlinked under the handler (a
 * retraction without the PTE lock). The CPU halts the machine
 * (src/check/halt.ts). va the address, pfn the last fault code, fillGen the
 * retries, frameGen the mm.
 */
export const V_USER_FAULT_LOOP = 27;

export const VIOLATION_NAMES: readonly string[] = [
  'none', 'stale-tlb', 'walk-non-pagetable', 'stale-psc', 'isolation', 'data-leak', 'ephmap', 'readback',
  'unmapped-access', 'stale-at-flush', 'write-after-downgrade', 'asi-mapping', 'asi-state',
  // reach (issue 11)
  'sw-walk-freed-table',
  // lockdep (issue 7 remainder)
  'lock-order', 'flush-under-lock', 'sleep-in-atomic', 'unmapped-direct-map',
  // guest_memfd (issue 8)
  'gmem-direct-map', 'direct-map-hole', 'recursive-locking',
  // mshare and secondary MMUs (issue 8)
  'stale-iotlb',
  // ghost-state invariants (issue 11 item 6)
  'ipi-not-run', 'flush-gen-ahead',
  // issue 11 item 6, the third ghost invariant
  'freed-table-cached',
  // the fourth (the lost-store window of a writeback)
  'writeback-dirty-cached',
  // checked software walks: a table moved under its rmap walker (mremap)
  'sw-walk-moved-table',
  // a fault the handler "fixed" that never stops faulting (a lost PTE)
  'user-fault-loop',
];

const VA_SPLIT = 2 ** 32;
const C_VIOLATIONS = C.violations;

/**
 * Records a violation: counts it (in total, per kind, and in the CPU's
 * counter block) and, for the first VIOLATION_RECORDS_PER_KIND of its kind
 * while record slots remain, writes a record and copies every CPU's last
 * VIOLATION_SNAP_EVENTS trace events beside it. The other CPUs' rings are
 * read racily (their owners write with plain stores): an entry being
 * written at that moment may be torn, which a diagnostic snapshot accepts.
 * Readers look at records at a quiescent point, after the run stopped; a
 * record counts only once its ready word is set, after its snapshot.
 * Returns the record slot this violation got, or -1 when it is only
 * counted (a caller with details of its own adds them: setSwWalkDetails).
 */
export function reportViolation(
  views: MachineViews, cpu: number, kind: number, va: number, pfn: number,
  fillGen: number, frameGen: number, task: number, op: number, slotCpu = -1,
): number {
  views.counters[cpu * COUNTERS_STRIDE + C_VIOLATIONS] += 1;
  // Every violation, not only the first, goes into the CPU's trace (issue 10).
  traceRingOf(views, cpu)?.emit(EV_VIOLATION, va % VA_SPLIT | 0, ((va / VA_SPLIT) | 0) | (kind << 16), pfn);
  const o = views.oracle;
  Atomics.add(o, ORACLE_VIOLATIONS, 1);
  const k = kind >= 0 && kind < VIOLATION_KINDS_MAX ? kind : 0;
  if (Atomics.add(o, ORACLE_KIND_COUNT + k, 1) >= VIOLATION_RECORDS_PER_KIND) return -1;
  const slot = Atomics.add(o, ORACLE_SLOTS_USED, 1);
  if (slot >= VIOLATION_SLOTS) return -1;
  const r = views.oracleRecord;
  const at = slot * OREC_STRIDE;
  r[at + OREC_KIND] = kind;
  r[at + OREC_CPU] = cpu;
  r[at + OREC_TASK] = task;
  r[at + OREC_VA_LO] = va % VA_SPLIT;
  r[at + OREC_VA_HI] = Math.floor(va / VA_SPLIT);
  r[at + OREC_PFN] = pfn;
  r[at + OREC_FILL_GEN] = fillGen;
  r[at + OREC_FRAME_GEN] = frameGen;
  r[at + OREC_OP] = op;
  r[at + OREC_SLOT_CPU] = slotCpu + 1;
  snapshotRings(views, slot);
  Atomics.store(r, at + OREC_READY, 1);
  return slot;
}

/** sw-walk-freed-table details of the record in `slot` (src/check/sw-walk.ts). */
export function setSwWalkDetails(views: MachineViews, slot: number, walker: number, level: number, freedBy: number): void {
  const at = slot * OREC_STRIDE;
  views.oracleRecord[at + OREC_SW_WALKER] = walker;
  views.oracleRecord[at + OREC_SW_LEVEL] = level;
  views.oracleRecord[at + OREC_SW_FREED_BY] = freedBy + 1;
}

function snapshotRings(views: MachineViews, slot: number): void {
  const cpus = views.traceHead.length / TRACE_HEAD_STRIDE;
  const entries = views.trace.length / TRACE_STRIDE / cpus;
  const ring = views.trace;
  const snap = views.oracleSnap;
  for (let c = 0; c < cpus; c++) {
    const head = views.traceHead[c * TRACE_HEAD_STRIDE]!;
    const n = Math.min(VIOLATION_SNAP_EVENTS, head, entries);
    const to = ((slot * cpus + c) * VIOLATION_SNAP_EVENTS) * OSNAP_STRIDE;
    for (let i = 0; i < VIOLATION_SNAP_EVENTS; i++) {
      const d = to + i * OSNAP_STRIDE;
      if (i >= n) {
        snap[d] = 0;
        continue;
      }
      const from = (c * entries + ((head - n + i) & (entries - 1))) * TRACE_STRIDE;
      snap[d] = ring[from]!;
      snap[d + 1] = ring[from + 1]!;
      snap[d + 2] = ring[from + 2]!;
      snap[d + 3] = ring[from + 3]!;
    }
  }
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
  /** Index of the record's ring snapshot (violationSnapshot). */
  readonly slot: number;
  /** sw-walk-freed-table: the walker (kernel function name), '' otherwise. */
  readonly swWalker: string;
  /** sw-walk-freed-table: the level of the table (1 = PTE table), 0 otherwise. */
  readonly swLevel: number;
  /** sw-walk-freed-table: the CPU that last freed the table frame, -1 unknown. */
  readonly swFreedBy: number;
}

export function violationCount(views: MachineViews): number {
  return Atomics.load(views.oracle, ORACLE_VIOLATIONS);
}

/** Violations counted per kind name, kinds with none left out, in kind order. */
export function violationKindCounts(views: MachineViews): { kind: string; count: number }[] {
  const out: { kind: string; count: number }[] = [];
  for (let k = 0; k < VIOLATION_KINDS_MAX; k++) {
    const count = Atomics.load(views.oracle, ORACLE_KIND_COUNT + k);
    if (count > 0) out.push({ kind: VIOLATION_NAMES[k] ?? `kind ${k}`, count });
  }
  return out;
}

/**
 * The kept records in the order they were claimed (the first is the run's
 * first violation), at most VIOLATION_RECORDS_PER_KIND per kind. Call at a
 * quiescent point.
 */
export function violationRecords(views: MachineViews): ViolationRecord[] {
  const used = Math.min(Atomics.load(views.oracle, ORACLE_SLOTS_USED), VIOLATION_SLOTS);
  const r = views.oracleRecord;
  const out: ViolationRecord[] = [];
  for (let slot = 0; slot < used; slot++) {
    const at = slot * OREC_STRIDE;
    // A CPU stopped mid-report (a fault) leaves a half-written slot: skip it.
    if (Atomics.load(r, at + OREC_READY) !== 1) continue;
    const kind = r[at + OREC_KIND]!;
    out.push({
      kind,
      kindName: VIOLATION_NAMES[kind] ?? `kind ${kind}`,
      cpu: r[at + OREC_CPU]!,
      task: r[at + OREC_TASK]!,
      va: (r[at + OREC_VA_LO]! >>> 0) + r[at + OREC_VA_HI]! * VA_SPLIT,
      pfn: r[at + OREC_PFN]!,
      fillGen: r[at + OREC_FILL_GEN]!,
      frameGen: r[at + OREC_FRAME_GEN]!,
      op: r[at + OREC_OP]!,
      slotCpu: r[at + OREC_SLOT_CPU]! - 1,
      slot,
      swWalker: WALKER_NAMES[r[at + OREC_SW_WALKER]!] ?? '',
      swLevel: r[at + OREC_SW_LEVEL]!,
      swFreedBy: r[at + OREC_SW_FREED_BY]! - 1,
    });
  }
  return out;
}

/** The first kept record, or null when none. */
export function firstViolation(views: MachineViews): ViolationRecord | null {
  return violationRecords(views)[0] ?? null;
}

/** One raw snapshot entry: the trace ring's format (event word, a, b, c). */
export interface SnapshotEntry {
  readonly cpu: number;
  readonly event: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** The ring snapshot of a kept record: every CPU's last events then, oldest first per CPU. */
export function violationSnapshot(views: MachineViews, slot: number): SnapshotEntry[] {
  const cpus = views.traceHead.length / TRACE_HEAD_STRIDE;
  const snap = views.oracleSnap;
  const out: SnapshotEntry[] = [];
  for (let c = 0; c < cpus; c++) {
    const from = ((slot * cpus + c) * VIOLATION_SNAP_EVENTS) * OSNAP_STRIDE;
    for (let i = 0; i < VIOLATION_SNAP_EVENTS; i++) {
      const d = from + i * OSNAP_STRIDE;
      if (snap[d] === 0) continue;
      out.push({ cpu: c, event: snap[d]!, a: snap[d + 1]!, b: snap[d + 2]!, c: snap[d + 3]! });
    }
  }
  return out;
}

/** Forgets recorded violations (between phases of a test or a soak shard). */
export function resetOracle(views: MachineViews): void {
  views.oracle.fill(0);
  views.oracleRecord.fill(0);
  views.oracleSnap.fill(0);
}
