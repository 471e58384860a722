// Kernel accesses through the direct map, and the kernel-mode page fault
// that ASI turns them into when they come from the nonsensitive space.
//
// As exc_page_fault() in the ASI branch: a kernel-mode fault first calls
// asi_exit(PAGE_FAULT); if curr_asi said we were in a nonsensitive space,
// the faulting instruction is simply retried in the sensitive space, where
// the direct map is present. The fault is real: the walker of the
// nonsensitive PGD finds no direct-map PGD entry (space.ts leaves it out),
// the MMU reports the fault, and this code handles it. A kernel fault that
// curr_asi does not explain is a kernel bug (an oops); here it is reported
// as an asi-state violation and the CPU is put back in the sensitive space
// so the run can go on.

import { readFrame, writeFrame } from '../../hw/frames.js';
import type { KernelCtx } from '../ctx.js';
import { ASI_EXIT_PAGE_FAULT, asiCheckCr3, asiExit, loadSensitiveCr3Flush } from './enter-exit.js';
import { physmapVa } from './layout.js';
import { CPU_LOADED_MM, CPU_LOADED_MM_ASID, MM_PGD, MM_STRIDE } from '../../../native-layout/fields.js';

export class KernelOopsError extends Error {
  override name = 'KernelOopsError';
}

/**
 * The kernel reads frame pfn through the direct map (a copy source):
 * returns the content word. From the nonsensitive space this takes the
 * ASI page fault (one asi_exit with reason PAGE_FAULT) and retries.
 * Throws KernelOopsError if the direct map itself is broken (a fault in
 * the sensitive space).
 */
export function kernelReadPhysmap(k: KernelCtx, pfn: number): number {
  const va = physmapVa(pfn);
  const mmu = k.mmu;
  for (let tries = 0; tries < 3; tries++) {
    const got = mmu.access(va, false, false);
    if (got >= 0) {
      if (got !== pfn) throw new KernelOopsError(`CPU ${k.cpu}: direct map at 0x${va.toString(16)} translated to frame ${got}, not ${pfn}`);
      return readFrame(k.frame, got);
    }
    kernelFaultAsi(k, va);
  }
  throw new KernelOopsError(`CPU ${k.cpu}: kernel read of the direct map at 0x${va.toString(16)} (frame ${pfn}) still faults`);
}

/**
 * The kernel writes frame pfn through the direct map (a copy destination,
 * a page being zeroed): content word `word`. From the nonsensitive space a
 * sensitive frame takes the ASI page fault first, as kernelReadPhysmap.
 */
export function kernelWritePhysmap(k: KernelCtx, pfn: number, word: number): void {
  const va = physmapVa(pfn);
  const mmu = k.mmu;
  for (let tries = 0; tries < 3; tries++) {
    const got = mmu.access(va, true, false);
    if (got >= 0) {
      if (got !== pfn) throw new KernelOopsError(`CPU ${k.cpu}: direct map at 0x${va.toString(16)} translated to frame ${got}, not ${pfn}`);
      writeFrame(k.frame, got, word >>> 16, word & 0xffff);
      return;
    }
    kernelFaultAsi(k, va);
  }
  throw new KernelOopsError(`CPU ${k.cpu}: kernel write of the direct map at 0x${va.toString(16)} (frame ${pfn}) still faults`);
}

/** exc_page_fault() for a kernel-mode fault at va: the ASI part. */
function kernelFaultAsi(k: KernelCtx, va: number): void {
  if (asiExit(k, ASI_EXIT_PAGE_FAULT)) return;
  // Not an ASI fault as far as curr_asi knows. If CR3 holds a nonsensitive
  // PCID anyway, curr_asi and CR3 disagree (the check reports it); put the
  // CPU back in the sensitive space and retry, as a real kernel would not.
  if (!asiCheckCr3(k)) {
    const st = k.cpuState;
    const mm = st[k.cpuAt + CPU_LOADED_MM];
    loadSensitiveCr3Flush(k, k.mm[mm * MM_STRIDE + MM_PGD], st[k.cpuAt + CPU_LOADED_MM_ASID]);
    return;
  }
  throw new KernelOopsError(`CPU ${k.cpu}: kernel page fault at 0x${va.toString(16)} in the sensitive space`);
}
