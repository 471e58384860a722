// MOV to CR3 with CR4.PCIDE=1 (Intel SDM vol. 3A §4.10.4.1): loads the root
// and the PCID. NOFLUSH (bit 63) clear drops the non-global TLB entries and
// the paging-structure-cache entries of the NEW PCID; set drops nothing.
// Entries of other PCIDs, and global entries, always survive: that is what
// lets switch_mm_irqs_off() return to a PCID without a flush when its
// tlb_gen is current, and what makes a stale PCID dangerous when it is not.

import { C as C_ } from '../../native-layout/counters.js';
import {
  COUNTERS_STRIDE as COUNTERS_STRIDE_, CPU_CR3_PCID as CPU_CR3_PCID_, CPU_CR3_ROOT as CPU_CR3_ROOT_, CPU_STRIDE as CPU_STRIDE_,
} from '../../native-layout/fields.js';
import type { MachineViews } from '../../native-layout/memory.js';
import type { Psc } from './psc.js';
import type { Tlb } from './tlb.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const C = C_, COUNTERS_STRIDE = COUNTERS_STRIDE_, CPU_CR3_PCID = CPU_CR3_PCID_, CPU_CR3_ROOT = CPU_CR3_ROOT_, CPU_STRIDE = CPU_STRIDE_;

export const PCID_COUNT = 4096;

export function loadCr3(views: MachineViews, tlb: Tlb, psc: Psc, root: number, pcid: number, noflush: boolean): void {
  if (!Number.isInteger(pcid) || pcid < 0 || pcid >= PCID_COUNT) {
    throw new RangeError(`CR3 pcid ${pcid} is invalid: use 0..${PCID_COUNT - 1}`);
  }
  const cpu = tlb.cpu;
  const c = views.counters;
  c[cpu * COUNTERS_STRIDE + C.cr3Writes] += 1;
  if (noflush) c[cpu * COUNTERS_STRIDE + C.cr3NoflushWrites] += 1;
  else {
    tlb.dropPcid(pcid);
    psc.invalidatePcid(pcid);
  }
  // Published atomically, and only once the write is complete (the flush
  // included): other CPUs (the kernel's lazy-TLB and shootdown logic, the
  // checkers) read a CPU's CR3 racily, and one that saw the new PCID while
  // its old entries were still being dropped would take them for entries
  // the CPU can use (an asi_enter's flushing write, seen by the freed-table
  // check: check/ghost-table.ts).
  Atomics.store(views.cpu, cpu * CPU_STRIDE + CPU_CR3_ROOT, root);
  Atomics.store(views.cpu, cpu * CPU_STRIDE + CPU_CR3_PCID, pcid);
}

export function readCr3Root(views: MachineViews, cpu: number): number {
  return Atomics.load(views.cpu, cpu * CPU_STRIDE + CPU_CR3_ROOT);
}

export function readCr3Pcid(views: MachineViews, cpu: number): number {
  return Atomics.load(views.cpu, cpu * CPU_STRIDE + CPU_CR3_PCID);
}
