// Trace event kinds and how to print their arguments. A VA takes two
// argument words (low 32 bits, high 16 bits).

export const EV_ALLOC = 1; // a = pfn, b = order, c = gfp
export const EV_FREE = 2; // a = pfn, b = order
export const EV_IPI_SEND = 3; // a = target cpu, b = func id
export const EV_IPI_RUN = 4; // a = sender cpu, b = func id
export const EV_CR3 = 5; // a = root pfn, b = pcid, c = noflush
export const EV_INVLPG = 6; // a = va lo, b = va hi
export const EV_INVPCID = 7; // a = type, b = pcid
export const EV_FLUSH_ALL = 8; //
export const EV_FAULT = 9; // a = va lo, b = va hi, c = fault code
export const EV_VIOLATION = 10; // a = va lo, b = va hi, c = pfn
export const EV_SWITCH_MM = 11; // a = prev mm, b = next mm, c = asid
export const EV_FLUSH_TLB = 12; // a = mm, b = new gen, c = 1 full / 0 partial
export const EV_USER = 13; // scenario-defined: a, b, c

export const EVENT_NAMES: Readonly<Record<number, string>> = {
  [EV_ALLOC]: 'alloc', [EV_FREE]: 'free', [EV_IPI_SEND]: 'ipi-send', [EV_IPI_RUN]: 'ipi-run', [EV_CR3]: 'cr3',
  [EV_INVLPG]: 'invlpg', [EV_INVPCID]: 'invpcid', [EV_FLUSH_ALL]: 'flush-all', [EV_FAULT]: 'fault',
  [EV_VIOLATION]: 'violation', [EV_SWITCH_MM]: 'switch-mm', [EV_FLUSH_TLB]: 'flush-tlb', [EV_USER]: 'user',
};

const VA_SPLIT = 2 ** 32;
const hex = (n: number): string => `0x${n.toString(16)}`;
const va = (lo: number, hi: number): string => hex((lo >>> 0) + hi * VA_SPLIT);

/** One line of arguments for a decoded event. */
export function describeEvent(kind: number, a: number, b: number, c: number): string {
  switch (kind) {
    case EV_ALLOC: return `pfn ${a} order ${b} gfp ${hex(c >>> 0)}`;
    case EV_FREE: return `pfn ${a} order ${b}`;
    case EV_IPI_SEND: return `to cpu ${a} func ${b}`;
    case EV_IPI_RUN: return `from cpu ${a} func ${b}`;
    case EV_CR3: return `root ${a} pcid ${b}${c ? ' noflush' : ''}`;
    case EV_INVLPG: return `va ${va(a, b)}`;
    case EV_INVPCID: return `type ${a} pcid ${b}`;
    case EV_FLUSH_ALL: return '';
    case EV_FAULT: return `va ${va(a, b)} code ${c}`;
    case EV_VIOLATION: return `va ${va(a, b)} pfn ${c}`;
    case EV_SWITCH_MM: return `mm ${a} -> ${b} asid ${c}`;
    case EV_FLUSH_TLB: return `mm ${a} gen ${b} ${c ? 'full' : 'partial'}`;
    default: return `${a} ${b} ${c}`;
  }
}
