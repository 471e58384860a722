// struct mmu_gather (include/asm-generic/tlb.h), the data half: one per CPU,
// reused for every unmap. The logic is in gather.ts.

/** Pages batched before a forced flush (MAX_GATHER_BATCH, small here so batches really fill). */
export const GATHER_BATCH = 256;

export class MmuGather {
  /** mm being unmapped, -1 when idle. */
  mm = -1;
  /** Tearing down the whole address space (exit_mmap): flush everything. */
  fullmm = false;
  /** Range of cleared PTEs, in pages; empty while start >= end. */
  start = 0;
  end = 0;
  /** Something was cleared since the last flush. */
  cleared = false;
  /** Page tables were unhooked since the last flush: lazy CPUs must be reached. */
  freedTables = false;
  /** Pages whose references are dropped after the flush. */
  readonly pages = new Int32Array(GATHER_BATCH);
  nrPages = 0;
  /** Unhooked page tables, freed after the flush. */
  readonly tables: number[] = [];
  // Injected-bug state (see gather.ts): a cpumask snapshot taken at start,
  // and a generation bumped before any PTE was touched.
  readonly maskSnap = new Int32Array(2);
  useMaskSnap = false;
  preGen = 0;
  preGenValid = false;

  reset(mm: number, fullmm: boolean): void {
    this.mm = mm;
    this.fullmm = fullmm;
    this.start = 0x7fffffff;
    this.end = 0;
    this.cleared = false;
    this.freedTables = false;
    this.nrPages = 0;
    this.tables.length = 0;
    this.useMaskSnap = false;
    this.preGenValid = false;
  }
}
