// A lockdep-style checker (issue 7 item 6e; SEMANTICS.md §3 "Lock order pcp
// -> zone. Never a shootdown, sleep or page-table allocation under the zone
// lock or with interrupts off"). It follows the ideas of the kernel's
// kernel/locking/lockdep.c, in our own much smaller form:
//
// - Locks are grouped in a fixed set of classes (LOCK_CLASS_*); what lockdep
//   reasons about is the order between classes, not between lock instances.
// - Each CPU keeps the classes it holds in its own record of the `lockdep`
//   region: a bitmask (the hot-path test is one load and an AND), a stack in
//   acquisition order for the report, and a depth per class.
// - Taking class B while holding A records the dependency A -> B in a graph
//   shared by every CPU (`lockdepGraph`), the first time it is seen. A new
//   edge that would close a cycle is the deadlock in waiting: CPU 1 holds
//   the zone lock and spins for CPU 2's pcp lock while CPU 2 holds that pcp
//   lock and spins for the zone lock, both with interrupts off. lockdep
//   (check_prev_add -> check_noncircular) reports it at the second order's
//   first use, on any schedule, not only the one where both CPUs meet; so
//   does this checker, as `lock-order`, naming both CPUs and their stacks.
//   Some edges are declared at boot (the documented order pcp -> zone), so
//   an inversion is caught even before the right order was exercised.
// - A wait for other CPUs (the acks of an IPI: every TLB shootdown) while
//   holding a class taken with interrupts off is `flush-under-lock`, as the
//   kernel's WARN in smp_call_function_many_cond(): a CPU spinning for that
//   lock spins with interrupts off and never answers the IPI.
// - Entering a class that may wait for other CPUs (the sensitivity flip,
//   LOCK_CLASS_ASI_FLIP, a lockdep_map with no lock behind it, as the
//   kernel's fs_reclaim map) with interrupts off is `sleep-in-atomic`, as
//   __might_sleep() in kernel/sched/core.c.
//
// A report is fatal here (as with panic_on_warn): the hazard it names is a
// hang the moment the other CPU shows up, and a hung machine only leaves the
// watchdog's dump. The reporting CPU records the violation, asks every CPU
// to stop, and unwinds with LockdepHalt; the engine treats that as a stop,
// not as an emulator fault. The watchdog stays the backstop for hangs this
// checker cannot see (a lock with no class).
//
// Trylocks are held (what is taken under them depends on them) but add no
// edge to the class they take: a trylock never waits, so it cannot close a
// cycle (lockdep's trylock rule).

import {
  CPU_IRQS_DISABLED as CPU_IRQS_DISABLED_, CPU_STRIDE as CPU_STRIDE_,
  LDG_CLS as LDG_CLS_, LDG_CPU as LDG_CPU_, LDG_EDGE as LDG_EDGE_, LDG_EDGE_STACK as LDG_EDGE_STACK_,
  LDG_HELD_STACK as LDG_HELD_STACK_, LDG_KIND as LDG_KIND_, LDG_OTHER_CPU as LDG_OTHER_CPU_, LDG_OTHER_STACK as LDG_OTHER_STACK_,
  LDG_REPORTS as LDG_REPORTS_, LD_DEPTH as LD_DEPTH_, LD_HELD as LD_HELD_, LD_STACK as LD_STACK_, LOCKDEP_STRIDE as LOCKDEP_STRIDE_,
} from '../../native-layout/fields.js';
import type { MachineViews } from '../../native-layout/memory.js';
import { HALT_STOP_ABORT, ViolationHalt, haltMachine } from './halt.js';
import { V_FLUSH_UNDER_LOCK, V_LOCK_ORDER, V_RECURSIVE_LOCKING, V_SLEEP_IN_ATOMIC, VIOLATION_NAMES, reportViolation } from './oracle.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const CPU_IRQS_DISABLED = CPU_IRQS_DISABLED_, CPU_STRIDE = CPU_STRIDE_,
  LDG_CLS = LDG_CLS_, LDG_CPU = LDG_CPU_, LDG_EDGE = LDG_EDGE_, LDG_EDGE_STACK = LDG_EDGE_STACK_,
  LDG_HELD_STACK = LDG_HELD_STACK_, LDG_KIND = LDG_KIND_, LDG_OTHER_CPU = LDG_OTHER_CPU_, LDG_OTHER_STACK = LDG_OTHER_STACK_,
  LDG_REPORTS = LDG_REPORTS_, LD_DEPTH = LD_DEPTH_, LD_HELD = LD_HELD_, LD_STACK = LD_STACK_, LOCKDEP_STRIDE = LOCKDEP_STRIDE_;

/** The zone lock (spin_lock_irqsave: interrupts off while held and while waiting). */
export const LOCK_CLASS_ZONE = 0;
/** A CPU's pcp lock (pcp_spin_lock: interrupts stay on). */
export const LOCK_CLASS_PCP = 1;
/** A split page-table lock (interrupts stay on). */
export const LOCK_CLASS_PTL = 2;
/** A run-queue lock (interrupts off). */
export const LOCK_CLASS_RQ = 3;
/** mmap_lock (a sleeping lock). */
export const LOCK_CLASS_MM = 4;
/** The sensitivity flip: not a lock, a map for "this path may wait for a shootdown" (may sleep). */
export const LOCK_CLASS_ASI_FLIP = 5;
/** Number of classes the graph has room for (the layout reserves 8). */
/**
 * guest_memfd (issue 8): the direct map's [un]map section (cpa_lock and
 * init_mm's page_table_lock in arch/x86/mm/pat/set_memory.c, folded into
 * one map). Not recursive: taking it again on the CPU that holds it is the
 * [un]map path re-entered from its own page-table allocation.
 */
export const LOCK_CLASS_DIRECT_MAP = 6;
export const LOCK_CLASSES = 8;

export const LOCK_CLASS_NAMES: readonly string[] = ['zone', 'pcp', 'ptl', 'rq', 'mm', 'asi-flip', 'direct-map', 'class7'];

/** Classes whose locks are taken with interrupts off: no IPI ack can be waited for under them. */
const IRQ_CLASSES = (1 << LOCK_CLASS_ZONE) | (1 << LOCK_CLASS_RQ);
/** Classes whose holder may wait for other CPUs (or sleep): never entered with interrupts off. */
const SLEEP_CLASSES = (1 << LOCK_CLASS_MM) | (1 << LOCK_CLASS_ASI_FLIP);
/** Classes a CPU may hold only once (guest_memfd, issue 8). */
const NON_RECURSIVE_CLASSES = 1 << LOCK_CLASS_DIRECT_MAP;

/** An edge declared at boot rather than learnt from a CPU. */
const EDGE_DECLARED = 0x100;
/** The stop value the engine's abort uses (src/kernel/smp.ts STOP_ABORT; kept equal by a test). */
export const LOCKDEP_STOP_ABORT = HALT_STOP_ABORT;

/** Thrown by the CPU that reported a lockdep hazard, after it asked every CPU to stop (src/check/halt.ts). */
export class LockdepHalt extends ViolationHalt {
  override name = 'LockdepHalt';
}

/**
 * One thread's handle on the machine's lockdep state. Build one per CPU
 * context (allocator, SMP); it holds views only.
 */
export class Lockdep {
  private readonly ld: Int32Array;
  private readonly graph: Int32Array;
  private readonly cpuState: Int32Array;

  constructor(private readonly views: MachineViews) {
    this.ld = views.lockdep;
    this.graph = views.lockdepGraph;
    this.cpuState = views.cpu;
  }

  /**
   * lock_acquire() for a lock of class cls taken by cpu (before it spins
   * for it: the order is what matters, not whether it was free). trylock:
   * no edge into cls (see the file comment).
   */
  acquire(cpu: number, cls: number, trylock: boolean): void {
    const at = cpu * LOCKDEP_STRIDE;
    const ld = this.ld;
    const held = ld[at + LD_HELD]!;
    if (((1 << cls) & SLEEP_CLASSES) !== 0) this.mightSleep(cpu, cls);
    // check_deadlock(): "possible recursive locking detected". Only for the
    // classes declared non-recursive (the others nest instances of one
    // class legitimately: two PTE locks, a pcp lock inside a drain).
    if ((held & (1 << cls) & NON_RECURSIVE_CLASSES) !== 0 && !trylock) this.report(cpu, V_RECURSIVE_LOCKING, cls, -1, 0, cls);
    if (held !== 0 && !trylock) this.checkOrder(cpu, cls, held);
    ld[at + LD_HELD] = held | (1 << cls);
    ld[at + LD_DEPTH + cls]! += 1;
    const stack = ld[at + LD_STACK]!;
    const len = stackLength(stack);
    if (len < 8) ld[at + LD_STACK] = stack | ((cls + 1) << (4 * len));
  }

  /** lock_release(): the most recent acquisition of cls leaves the stack. */
  release(cpu: number, cls: number): void {
    const at = cpu * LOCKDEP_STRIDE;
    const ld = this.ld;
    const depth = ld[at + LD_DEPTH + cls]! - 1;
    ld[at + LD_DEPTH + cls] = depth < 0 ? 0 : depth;
    if (depth <= 0) ld[at + LD_HELD] = ld[at + LD_HELD]! & ~(1 << cls);
    const stack = ld[at + LD_STACK]!;
    for (let i = stackLength(stack) - 1; i >= 0; i--) {
      if (((stack >>> (4 * i)) & 0xf) !== cls + 1) continue;
      const low = i === 0 ? 0 : stack & ((1 << (4 * i)) - 1);
      const high = i >= 7 ? 0 : (stack >>> (4 * (i + 1))) << (4 * i);
      ld[at + LD_STACK] = low | high;
      return;
    }
  }

  /**
   * Before cpu waits for other CPUs to acknowledge an IPI (the kernel's
   * WARN in smp_call_function_many_cond): no class taken with interrupts
   * off may be held, or a CPU spinning for it never answers.
   */
  checkWaitForAcks(cpu: number): void {
    const held = this.ld[cpu * LOCKDEP_STRIDE + LD_HELD]! & IRQ_CLASSES;
    if (held === 0) return;
    this.report(cpu, V_FLUSH_UNDER_LOCK, lowestClass(held), -1, 0);
  }

  /** __might_sleep(): a path that may wait for other CPUs is entered with interrupts off. */
  private mightSleep(cpu: number, cls: number): void {
    if (this.cpuState[cpu * CPU_STRIDE + CPU_IRQS_DISABLED] === 0) return;
    this.report(cpu, V_SLEEP_IN_ATOMIC, cls, -1, 0);
  }

  /**
   * check_prev_add() for every held class a: the first a -> cls edge is
   * added unless cls already reaches a (the new edge would close a cycle).
   */
  private checkOrder(cpu: number, cls: number, held: number): void {
    const g = this.graph;
    for (let rest = held & ~(1 << cls); rest !== 0; rest &= rest - 1) {
      const a = lowestClass(rest);
      const e = g[LDG_EDGE + a * LOCK_CLASSES + cls]!;
      if (e === EDGE_DECLARED) {
        // The first CPU to use a declared order signs it: reports then name a real CPU and stack.
        if (Atomics.compareExchange(g, LDG_EDGE + a * LOCK_CLASSES + cls, e, e | (cpu + 1)) === e) {
          g[LDG_EDGE_STACK + a * LOCK_CLASSES + cls] = this.ld[cpu * LOCKDEP_STRIDE + LD_STACK]!;
        }
        continue;
      }
      if (e !== 0) continue;
      const back = this.pathStart(cls, a);
      if (back >= 0) {
        const otherCpu = (g[LDG_EDGE + back]! & 0xff) - 1;
        this.report(cpu, V_LOCK_ORDER, cls, otherCpu, g[LDG_EDGE_STACK + back]!, a);
      }
      // First one in records who saw it; a racing CPU's identical edge is no news.
      if (Atomics.compareExchange(g, LDG_EDGE + a * LOCK_CLASSES + cls, 0, cpu + 1) === 0) {
        g[LDG_EDGE_STACK + a * LOCK_CLASSES + cls] = this.ld[cpu * LOCKDEP_STRIDE + LD_STACK]!;
      }
    }
  }

  /**
   * check_noncircular(): is `to` reachable from `from` over recorded edges?
   * Returns the index of the first edge on the path (from -> x), or -1.
   * Eight classes: a breadth-first closure over bitmasks, no allocation.
   */
  private pathStart(from: number, to: number): number {
    const g = this.graph;
    for (let x = 0; x < LOCK_CLASSES; x++) {
      if (g[LDG_EDGE + from * LOCK_CLASSES + x] === 0) continue;
      let seen = 1 << x;
      let frontier = seen;
      while (frontier !== 0) {
        if ((seen & (1 << to)) !== 0) return from * LOCK_CLASSES + x;
        let next = 0;
        for (let f = frontier; f !== 0; f &= f - 1) {
          const c = lowestClass(f);
          for (let y = 0; y < LOCK_CLASSES; y++) if (g[LDG_EDGE + c * LOCK_CLASSES + y] !== 0) next |= 1 << y;
        }
        frontier = next & ~seen;
        seen |= next;
      }
    }
    return -1;
  }

  /**
   * Records the hazard (the oracle's record, and lockdep's own with names),
   * asks every CPU to stop, and unwinds this one. heldCls: the held class
   * in conflict (defaults to the lowest held one).
   */
  private report(cpu: number, kind: number, cls: number, otherCpu: number, otherStack: number, heldCls = -1): never {
    const stack = this.ld[cpu * LOCKDEP_STRIDE + LD_STACK]!;
    const held = this.ld[cpu * LOCKDEP_STRIDE + LD_HELD]!;
    const h = heldCls >= 0 ? heldCls : held === 0 ? -1 : lowestClass(held);
    reportViolation(this.views, cpu, kind, cls, h, stack, otherStack, -1, 0, otherCpu);
    const g = this.graph;
    if (Atomics.add(g, LDG_REPORTS, 1) === 0) {
      g[LDG_KIND] = kind;
      g[LDG_CPU] = cpu;
      g[LDG_CLS] = cls | ((h + 1) << 8);
      g[LDG_HELD_STACK] = stack;
      g[LDG_OTHER_CPU] = otherCpu;
      g[LDG_OTHER_STACK] = otherStack;
    }
    haltMachine(this.views);
    throw new LockdepHalt(`lockdep: ${VIOLATION_NAMES[kind]} on cpu ${cpu} (${LOCK_CLASS_NAMES[cls]})`);
  }
}

function lowestClass(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

function stackLength(stack: number): number {
  return stack === 0 ? 0 : (35 - Math.clz32(stack)) >> 2;
}

/**
 * Declares the documented orders at boot (SEMANTICS.md §3: pcp -> zone; the
 * flip takes the zone lock inside its section), so the first inversion is
 * a report even on a run that never used the right order before it.
 */
export function lockdepDeclareOrder(views: MachineViews): void {
  const g = views.lockdepGraph;
  g[LDG_EDGE + LOCK_CLASS_PCP * LOCK_CLASSES + LOCK_CLASS_ZONE] = EDGE_DECLARED;
  g[LDG_EDGE + LOCK_CLASS_ASI_FLIP * LOCK_CLASSES + LOCK_CLASS_ZONE] = EDGE_DECLARED;
}

/** A packed held stack as class names, oldest first: "pcp > zone". */
export function heldStackNames(stack: number): string {
  const names: string[] = [];
  for (let i = 0; i < stackLength(stack); i++) names.push(LOCK_CLASS_NAMES[((stack >>> (4 * i)) & 0xf) - 1] ?? '?');
  return names.length === 0 ? '(none)' : names.join(' > ');
}

/** lockdep's first report of a run, in words; null when none. Read at a quiescent point. */
export function lockdepReport(views: MachineViews): string | null {
  const g = views.lockdepGraph;
  if (Atomics.load(g, LDG_REPORTS) === 0) return null;
  const kind = g[LDG_KIND]!;
  const cpu = g[LDG_CPU]!;
  const cls = LOCK_CLASS_NAMES[g[LDG_CLS]! & 0xff] ?? '?';
  const against = LOCK_CLASS_NAMES[(g[LDG_CLS]! >> 8) - 1] ?? '?';
  const held = heldStackNames(g[LDG_HELD_STACK]!);
  if (kind === V_LOCK_ORDER) {
    const other = g[LDG_OTHER_CPU]!;
    const by = other < 0 ? 'the order declared at boot' : `cpu ${other}, holding ${heldStackNames(g[LDG_OTHER_STACK]!)} when it took the next`;
    return `lock-order: cpu ${cpu} took ${cls} while holding ${held}; the reverse order ${cls} -> ${against} was recorded by ${by}`;
  }
  if (kind === V_FLUSH_UNDER_LOCK) {
    return `flush-under-lock: cpu ${cpu} waited for IPI acks while holding ${held} (taken with interrupts off: a CPU spinning for it never acks)`;
  }
  if (kind === V_RECURSIVE_LOCKING) {
    return `recursive-locking: cpu ${cpu} took ${cls} again while holding ${held} (the direct-map [un]map path re-entered itself through its page-table allocation)`;
  }
  return `sleep-in-atomic: cpu ${cpu} entered ${cls} (may wait for other CPUs) with interrupts off, holding ${held}`;
}
