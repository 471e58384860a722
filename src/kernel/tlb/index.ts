// The x86 TLB shootdown protocol (arch/x86/mm/tlb.c): ASIDs, switch_mm,
// lazy TLB, flush_tlb_mm_range / flush_tlb_func, kernel flushes.

import { registerIpiFunc } from '../smp.js';
import { doFlushTlbAll, doKernelRangeFlush } from './flush-kernel.js';
import { flushTlbFuncIpi, setFlushCondMachine } from './flush-func.js';
import { IPI_FLUSH_KERNEL_RANGE, IPI_FLUSH_TLB_ALL, IPI_FLUSH_TLB_FUNC } from './ipi-ids.js';

export * from './asid.js';
export * from './gen.js';
export * from './ipi-ids.js';
export * from './switch-mm.js';
export * from './flush-func.js';
export * from './flush-mm.js';
export * from './flush-kernel.js';
export * from './speculate.js';
export * from './invlpgb.js';

/** Registers the TLB layer's IPI functions in this thread and points should_flush_tlb at the machine. */
export function tlbInitThread(cpuState: Int32Array): void {
  registerIpiFunc(IPI_FLUSH_TLB_FUNC, flushTlbFuncIpi);
  registerIpiFunc(IPI_FLUSH_KERNEL_RANGE, doKernelRangeFlush);
  registerIpiFunc(IPI_FLUSH_TLB_ALL, doFlushTlbAll);
  setFlushCondMachine(cpuState);
}
