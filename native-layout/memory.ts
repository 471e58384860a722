// One SharedArrayBuffer per machine, with a typed view per region. The main
// thread creates it; every CPU worker attaches to the same buffer.

import { computeLayout, type Layout } from './compute.js';
import type { MachineShape } from './shape.js';

export interface MachineViews {
  readonly control: Int32Array;
  readonly frame: Int32Array;
  readonly pageblock: Int32Array;
  readonly zone: Int32Array;
  readonly pcp: Int32Array;
  readonly cpu: Int32Array;
  readonly tlb4k: Int32Array;
  readonly tlbHuge: Int32Array;
  readonly tlbVictim: Int32Array;
  readonly psc: Int32Array;
  readonly ptStore: Int32Array;
  readonly ptSlots: Int32Array;
  readonly ptSeq: Int32Array;
  readonly csd: Int32Array;
  readonly ipi: Int32Array;
  readonly invlpgb: Int32Array;
  readonly invlpgbPending: Int32Array;
  readonly counters: Float64Array;
  readonly traceHead: Int32Array;
  readonly trace: Int32Array;
  readonly oracle: Int32Array;
  readonly oracleRecord: Int32Array;
  readonly oracleSnap: Int32Array;
  readonly kernel: Int32Array;
  readonly mm: Int32Array;
  readonly vma: Int32Array;
  readonly file: Int32Array;
  readonly task: Int32Array;
  readonly ptLock: Int32Array;
  readonly rq: Int32Array;
  /** ASI (src/kernel/asi/space.ts). */
  readonly pgdShadow: Int32Array;
  readonly ephem: Int32Array;
  readonly kmap: Int32Array;
  /** Trace files (issue 10): the global event sequence (src/trace/ring.ts). */
  readonly traceSeq: Int32Array;
  /** Checked software walks (src/check/sw-walk.ts). */
  readonly ptOwner: Int32Array;
  /** lockdep-style checker (src/check/lockdep.ts). */
  readonly lockdep: Int32Array;
  readonly lockdepGraph: Int32Array;
  /** mshare and secondary MMUs (issue 8): src/kernel/mshare, src/kernel/mmu_notifier, src/hw/iommu.ts. */
  readonly mshare: Int32Array;
  readonly mmuNotifier: Int32Array;
  /** hugetlb with shared PMD tables (issue 11): src/kernel/mm/hugetlb.ts. */
  readonly hugetlb: Int32Array;
  readonly iommu: Int32Array;
  /** guest_memfd (issue 8, src/kernel/gmem). */
  readonly gmem: Int32Array;
  readonly gmemSlat: Int32Array;
}

export interface MachineMemory {
  readonly sab: SharedArrayBuffer;
  readonly layout: Layout;
  readonly views: MachineViews;
}

function viewsOf(sab: SharedArrayBuffer, layout: Layout): MachineViews {
  const views: Record<string, Int32Array | Float64Array> = {};
  for (const r of layout.regions) {
    views[r.name] = r.scalar === 'f64'
      ? new Float64Array(sab, r.offset, r.bytes / 8)
      : new Int32Array(sab, r.offset, r.bytes / 4);
  }
  return views as unknown as MachineViews;
}

/** Allocates a zeroed machine. Initialisation of lists and tables is the kernel's job. */
export function createMachineMemory(shape: MachineShape): MachineMemory {
  const layout = computeLayout(shape);
  const sab = new SharedArrayBuffer(layout.totalBytes);
  return { sab, layout, views: viewsOf(sab, layout) };
}

/** Attaches to a machine created elsewhere (a CPU worker does this at start). */
export function attachMachineMemory(sab: SharedArrayBuffer, shape: MachineShape): MachineMemory {
  const layout = computeLayout(shape);
  if (sab.byteLength !== layout.totalBytes) {
    throw new Error(`native-layout: buffer has ${sab.byteLength} bytes, shape needs ${layout.totalBytes}`);
  }
  return { sab, layout, views: viewsOf(sab, layout) };
}
