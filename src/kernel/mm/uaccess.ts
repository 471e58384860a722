// A user-mode access by the task running on this CPU: through the MMU (TLB,
// walk), and on a fault through the kernel's fault handler and back, as the
// CPU re-executes the faulting instruction. The oracle watches the TLB-hit
// path inside Mmu.access.

import { ViolationHalt, haltMachine } from '../../check/halt.js';
import { V_USER_FAULT_LOOP, reportViolation } from '../../check/oracle.js';
import { FAULT_BAD_TABLE } from '../../hw/fault.js';
import { readFrame, writeFrame } from '../../hw/frames.js';
import type { KernelCtx } from '../ctx.js';
import { pollIpis } from '../smp.js';
import { handleMmFault } from './fault.js';
import { switchToUserCr3 } from '../tlb/user-pcid.js';

/**
 * Retries in a row (each fault given to the handler came back without an
 * error; a walk through a freed table is retried without it) after which a
 * user access is reported as user-fault-loop. Legitimate re-faults (another
 * CPU zapped the page between the handler's return and the retry) come one
 * or two at a time; 64 in a row means the handler's PTE is not where the
 * walk looks.
 */
export const MAX_FAULT_RETRIES = 64;

/** Translates va for a user access in mm, faulting pages in. The pfn, or FAULT_SIGSEGV / FAULT_OOM. */
export function userAccess(k: KernelCtx, mm: number, va: number, write: boolean): number {
  const mmu = k.mmu;
  // User mode runs with interrupts on, but an IPI takes the hardware a
  // while (~1 us, a few thousand instructions) to deliver: the CPU takes
  // pending ones every irqPollAccesses user accesses (and at every op
  // boundary), not before each one.
  if (--k.irqPollCountdown <= 0) {
    k.irqPollCountdown = k.irqPollAccesses;
    pollIpis(k.smp);
  }
  // PTI: the return to user mode loads the user PCID, flushing it first if
  // a kernel flush marked it (user-pcid.ts).
  if (k.ptiUser) switchToUserCr3(k);
  for (let tries = 0; ; tries++) {
    const pfn = mmu.access(va, write, true);
    if (pfn >= 0) return pfn;
    if (tries === MAX_FAULT_RETRIES) {
      // The task would loop here for ever: a violation (the oracle's
      // record names the address and the mm), and this CPU cannot go on.
      reportViolation(k.views, k.cpu, V_USER_FAULT_LOOP, va, pfn, tries, mm, mmu.walker.task, mmu.walker.op);
      haltMachine(k.views);
      throw new ViolationHalt(`CPU ${k.cpu}: user ${write ? 'write' : 'read'} of 0x${va.toString(16)} in mm ${mm} still faults (${pfn}) after ${tries} retries`);
    }
    if (pfn === FAULT_BAD_TABLE) {
      // The walk went through a freed page table (the oracle has recorded
      // it). Real hardware would have used garbage; we drop this PCID's
      // cached walks and go on, so one violation does not end the run.
      mmu.writeCr3(mmu.cr3Root, mmu.cr3Pcid, false);
      continue;
    }
    const r = handleMmFault(k, mm, va, write);
    if (r < 0) return r;
    if (k.ptiUser) switchToUserCr3(k);
  }
}

/** Reads the content word at va (>= 0), or FAULT_SIGSEGV / FAULT_OOM. */
export function userRead(k: KernelCtx, mm: number, va: number): number {
  const pfn = userAccess(k, mm, va, false);
  return pfn < 0 ? pfn : readFrame(k.frame, pfn);
}

/** Writes (domain, secret) at va; returns the pfn written, or FAULT_SIGSEGV / FAULT_OOM. */
export function userWrite(k: KernelCtx, mm: number, va: number, domain: number, secret: number): number {
  const pfn = userAccess(k, mm, va, true);
  if (pfn >= 0) writeFrame(k.frame, pfn, domain, secret);
  return pfn;
}
