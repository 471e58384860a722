// Trace event kinds and how to print their arguments. A VA takes two
// argument words (low 32 bits, high 16 bits).

import { MIGRATE_TYPES } from '../../native-layout/bits.js';
// Used only when an event is described (never at module load): the import
// cycle with oracle.ts (which emits EV_VIOLATION) is harmless.
import { LOCK_CLASS_NAMES } from '../check/lockdep.js';
import { V_FLUSH_UNDER_LOCK, V_LOCK_ORDER, V_RECURSIVE_LOCKING, V_SLEEP_IN_ATOMIC, VIOLATION_NAMES } from '../check/oracle.js';

export const EV_ALLOC = 1; // a = pfn, b = order | (freetype + 1) << 8 (0: not recorded), c = gfp
export const EV_FREE = 2; // a = pfn, b = order | (freetype + 1) << 8 (the pageblock's, 0: not recorded)
export const EV_IPI_SEND = 3; // a = target cpu, b = func id
export const EV_IPI_RUN = 4; // a = sender cpu, b = func id
export const EV_CR3 = 5; // a = root pfn, b = pcid, c = noflush
export const EV_INVLPG = 6; // a = va lo, b = va hi
export const EV_INVPCID = 7; // a = type, b = pcid
export const EV_FLUSH_ALL = 8; //
export const EV_FAULT = 9; // a = va lo, b = va hi, c = fault code
export const EV_VIOLATION = 10; // a = va lo, b = va hi | oracle V_* kind << 16 (0: not recorded), c = pfn
export const EV_SWITCH_MM = 11; // a = prev mm, b = next mm, c = asid
export const EV_FLUSH_TLB = 12; // a = mm, b = new gen, c = 1 full / 0 partial
export const EV_USER = 13; // scenario-defined: a, b, c
// ---- trace files (issue 10): slow paths and flushes only, never the TLB hit ----
/** A TLB entry filled from a walk (a TLB miss, or speculation): a = va lo, b = va hi | level << 16 | speculative << 20, c = pfn of the leaf. */
export const EV_TLB_FILL = 14;
/**
 * A page walk after a TLB miss that found no usable translation: a = va lo,
 * b = va hi | write << 16 | user << 17, c = the FAULT_* code (< 0). A walk
 * that succeeds is recorded by its tlb-fill only (one event per miss).
 */
export const EV_WALK = 15;
/** flush_tlb_mm_range() entered by its initiator: a = mm, b = first vpn (low 32 bits), c = pages, -1 = full flush. */
export const EV_FLUSH_RANGE = 16;
/** INVLPGB issued to the other CPUs: a = mm (-1: any PCID), b = first vpn (low 32 bits), c = pages, -1 = all. */
export const EV_INVLPGB = 17;
/** TLBSYNC: the issuer waits for its INVLPGBs (a, b, c = 0). */
export const EV_TLBSYNC = 18;
/** flush_tlb_kernel_range() / flush_tlb_all() by the initiator: a = first vpn (low 32 bits), b = pages, -1 = all, c = 0. */
export const EV_FLUSH_KERNEL = 19;
/** An IPI function finished and its csd acknowledged: a = sender cpu, b = func id. */
export const EV_IPI_ACK = 20;
/** A contended lock taken (slow path only): a = SAB word index of the lock (byte offset / 4), b = LOCK_* (src/sync/hook.ts), c = turns waited. */
export const EV_LOCK_ACQUIRE = 21;
/** A lock released with waiters behind it (slow path only): a = SAB word index, b = LOCK_*. */
export const EV_LOCK_RELEASE = 22;
/** asi_enter(): a = mm, b = asid slot. */
export const EV_ASI_ENTER = 23;
/** asi_exit(): a = ASI_EXIT_* reason, b = mm left. */
export const EV_ASI_EXIT = 24;
/** An ephemeral map: a = va lo, b = va hi | EPH_* << 16, c = pfn. */
export const EV_EPH_MAP = 25;
/** An ephemeral unmap: a = va lo, b = va hi | EPH_* << 16, c = pages. */
export const EV_EPH_UNMAP = 26;
/** A context switch: a = prev task, b = next task, c = next task's mm (-1 kernel thread). */
export const EV_CTX_SWITCH = 27;

/** EV_LOCK_* b: which primitive of src/sync (LOCK_* of src/sync/hook.ts). */
const LOCK_NAMES = ['', 'spinlock', 'mutex', 'rwsem-read', 'rwsem-write'];
/** EV_EPH_* which map. */
export const EPH_EPHMAP = 1;
export const EPH_MERMAP = 2;
export const EPH_KMAP_LOCAL = 3;
const EPH_NAMES = ['', 'ephmap', 'mermap', 'kmap_local'];
const ASI_EXIT_REASONS = ['PAGE_FAULT', 'USER_RET', 'CONTEXT_SWITCH', 'TLB_FLUSH', 'MISC'];
const FREETYPE_MT = ['unmovable', 'movable', 'reclaimable', 'highatomic', 'isolate'];

export const EVENT_NAMES: Readonly<Record<number, string>> = {
  [EV_ALLOC]: 'alloc', [EV_FREE]: 'free', [EV_IPI_SEND]: 'ipi-send', [EV_IPI_RUN]: 'ipi-run', [EV_CR3]: 'cr3',
  [EV_INVLPG]: 'invlpg', [EV_INVPCID]: 'invpcid', [EV_FLUSH_ALL]: 'flush-all', [EV_FAULT]: 'fault',
  [EV_VIOLATION]: 'violation', [EV_SWITCH_MM]: 'switch-mm', [EV_FLUSH_TLB]: 'flush-tlb', [EV_USER]: 'user',
  // trace files (issue 10)
  [EV_TLB_FILL]: 'tlb-fill', [EV_WALK]: 'walk', [EV_FLUSH_RANGE]: 'flush-range', [EV_INVLPGB]: 'invlpgb',
  [EV_TLBSYNC]: 'tlbsync', [EV_FLUSH_KERNEL]: 'flush-kernel', [EV_IPI_ACK]: 'ipi-ack', [EV_LOCK_ACQUIRE]: 'lock-acquire',
  [EV_LOCK_RELEASE]: 'lock-release', [EV_ASI_ENTER]: 'asi-enter', [EV_ASI_EXIT]: 'asi-exit', [EV_EPH_MAP]: 'eph-map',
  [EV_EPH_UNMAP]: 'eph-unmap', [EV_CTX_SWITCH]: 'ctx-switch',
};

/** The kind number of an event name ('tlb-fill' -> 14), or undefined. */
export function eventKindByName(name: string): number | undefined {
  for (const [k, v] of Object.entries(EVENT_NAMES)) if (v === name) return Number(k);
  return undefined;
}

const VA_SPLIT = 2 ** 32;
const hex = (n: number): string => `0x${n.toString(16)}`;
const va = (lo: number, hi: number): string => hex((lo >>> 0) + hi * VA_SPLIT);

/** One line of arguments for a decoded event. */
export function describeEvent(kind: number, a: number, b: number, c: number): string {
  switch (kind) {
    case EV_ALLOC: return `pfn ${a} order ${b & 0xff}${freetype(b)} gfp ${hex(c >>> 0)}`;
    case EV_FREE: return `pfn ${a} order ${b & 0xff}${freetype(b)}`;
    case EV_IPI_SEND: return `to cpu ${a} func ${b}`;
    case EV_IPI_RUN: return `from cpu ${a} func ${b}`;
    case EV_CR3: return `root ${a} pcid ${b}${c ? ' noflush' : ''}`;
    case EV_INVLPG: return `va ${va(a, b)}`;
    case EV_INVPCID: return `type ${a} pcid ${b}`;
    case EV_FLUSH_ALL: return '';
    case EV_FAULT: return `va ${va(a, b)} code ${c}`;
    case EV_VIOLATION: return violationText(a, b, c);
    case EV_SWITCH_MM: return `mm ${a} -> ${b} asid ${c}`;
    case EV_FLUSH_TLB: return `mm ${a} gen ${b} ${c ? 'full' : 'partial'}`;
    case EV_TLB_FILL: return `va ${va(a, b & 0xffff)} level ${(b >>> 16) & 0xf} pfn ${c}${(b >>> 20) & 1 ? ' speculative' : ''}`;
    case EV_WALK: return `va ${va(a, b & 0xffff)}${(b >>> 16) & 1 ? ' write' : ''}${(b >>> 17) & 1 ? ' user' : ''} -> ${c < 0 ? `fault ${c}` : `pfn ${c}`}`;
    case EV_FLUSH_RANGE: return `mm ${a} ${c < 0 ? 'full' : `vpn ${hex(b >>> 0)} pages ${c}`}`;
    case EV_INVLPGB: return `${a < 0 ? 'any pcid' : `mm ${a}`} ${c < 0 ? 'all' : `vpn ${hex(b >>> 0)} pages ${c}`}`;
    case EV_TLBSYNC: return '';
    case EV_FLUSH_KERNEL: return b < 0 ? 'all' : `vpn ${hex(a >>> 0)} pages ${b}`;
    case EV_IPI_ACK: return `from cpu ${a} func ${b}`;
    case EV_LOCK_ACQUIRE: return `${LOCK_NAMES[b] ?? b} @${hex(a >>> 0)} after ${c} spins`;
    case EV_LOCK_RELEASE: return `${LOCK_NAMES[b] ?? b} @${hex(a >>> 0)} to a waiter`;
    case EV_ASI_ENTER: return `mm ${a} asid ${b}`;
    case EV_ASI_EXIT: return `${ASI_EXIT_REASONS[a] ?? a} mm ${b}`;
    case EV_EPH_MAP: return `${EPH_NAMES[b >>> 16] ?? b >>> 16} va ${va(a, b & 0xffff)} pfn ${c}`;
    case EV_EPH_UNMAP: return `${EPH_NAMES[b >>> 16] ?? b >>> 16} va ${va(a, b & 0xffff)} pages ${c}`;
    case EV_CTX_SWITCH: return `task ${a} -> ${b} mm ${c}`;
    default: return `${a} ${b} ${c}`;
  }
}

/** " ft movable/sensitive" from an alloc/free b word (freetype + 1 in bits 8..15), '' when not recorded. */
function freetype(b: number): string {
  const ft1 = (b >>> 8) & 0xff;
  if (ft1 === 0) return '';
  // Index = migratetype + MIGRATE_TYPES * nonsensitive (src/kernel/page_alloc/freetype.ts).
  const ft = ft1 - 1;
  const mt = ft % MIGRATE_TYPES;
  return ` ft ${FREETYPE_MT[mt] ?? `mt${mt}`}${ft >= MIGRATE_TYPES ? '/nonsensitive' : ''}`;
}

/**
 * An EV_VIOLATION event: the oracle kind by name; a lockdep record (whose
 * va and pfn hold the class taken and the held class it conflicts with)
 * with its lock class names.
 */
function violationText(a: number, b: number, c: number): string {
  const kind = b >>> 16;
  if (kind === V_LOCK_ORDER || kind === V_FLUSH_UNDER_LOCK || kind === V_SLEEP_IN_ATOMIC || kind === V_RECURSIVE_LOCKING) {
    return `${VIOLATION_NAMES[kind]}: took ${LOCK_CLASS_NAMES[a] ?? `class ${a}`}${c >= 0 ? ` against held ${LOCK_CLASS_NAMES[c] ?? `class ${c}`}` : ''}`;
  }
  return `va ${va(a, b & 0xffff)} pfn ${c}${kind ? ` kind ${VIOLATION_NAMES[kind] ?? kind}` : ''}`;
}
