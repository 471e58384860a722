// The user-side loops the programs are made of, each with its assertion:
// a page reads back what this thread last wrote to it; a discarded page
// reads back zero; a sibling's page reads back zero or data of this
// process; an unmapped page faults. A failed assertion is an oracle
// violation (V_READBACK, V_UNMAPPED_ACCESS); faults that the program did not
// expect are counted.

import { V_UNMAPPED_ACCESS, reportViolation } from '../../check/oracle.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { FAULT_OOM, FAULT_SIGSEGV } from '../../kernel/mm/fault.js';
import { getUserPagesFast } from '../../kernel/mm/gup.js';
import { putPage } from '../../kernel/mm/page-ref.js';
import { userRead, userWrite } from '../../kernel/mm/uaccess.js';
import { readFrame } from '../../hw/frames.js';
import { CHUNK_PAGES, PAGE, USER_BASE_VPN, W_INDEX, W_NTHREADS, contentOf, readbackViolation, tw } from './common.js';
import type { MmCpu } from './runner.js';

function countFault(cpu: MmCpu, r: number): void {
  if (r === FAULT_SIGSEGV) cpu.stats.segv++;
  else if (r === FAULT_OOM) cpu.stats.oom++;
}

/** Writes secretAt(i) to pages [start, start + pages) and reads each back. */
export function touchPages(
  k: KernelCtx, cpu: MmCpu, tid: number, mm: number, start: number, pages: number, domain: number,
  secretAt: (i: number) => number,
): void {
  for (let i = 0; i < pages; i++) {
    const va = (start + i) * PAGE;
    const want = contentOf(domain, secretAt(i));
    const w = userWrite(k, mm, va, domain, want & 0xffff);
    cpu.stats.writes++;
    if (w < 0) {
      countFault(cpu, w);
      continue;
    }
    const got = userRead(k, mm, va);
    cpu.stats.reads++;
    if (got < 0) countFault(cpu, got);
    else if (got !== want) readbackViolation(k, tid, cpu.op, va, want, got);
  }
}

/** Reads pages [start, start + pages) expecting contentOf(domain, secretAt(i)). */
export function verifyPages(
  k: KernelCtx, cpu: MmCpu, tid: number, mm: number, start: number, pages: number, domain: number,
  secretAt: (i: number) => number,
): void {
  for (let i = 0; i < pages; i++) {
    const va = (start + i) * PAGE;
    const got = userRead(k, mm, va);
    cpu.stats.reads++;
    if (got < 0) countFault(cpu, got);
    else if (got !== contentOf(domain, secretAt(i))) readbackViolation(k, tid, cpu.op, va, contentOf(domain, secretAt(i)), got);
  }
}

/** A page just discarded (MADV_DONTNEED) reads back as a fresh zero page. */
export function expectZero(k: KernelCtx, cpu: MmCpu, tid: number, mm: number, vpn: number): void {
  const got = userRead(k, mm, vpn * PAGE);
  cpu.stats.reads++;
  if (got < 0) countFault(cpu, got);
  else if (got !== 0) readbackViolation(k, tid, cpu.op, vpn * PAGE, 0, got);
}

/** An address this thread has just unmapped must fault. */
export function expectSegv(k: KernelCtx, cpu: MmCpu, tid: number, mm: number, vpn: number): void {
  const got = userRead(k, mm, vpn * PAGE);
  if (got === FAULT_SIGSEGV) {
    cpu.stats.expectedSegv++;
    return;
  }
  if (got < 0) countFault(cpu, got);
  else reportViolation(k.views, k.cpu, V_UNMAPPED_ACCESS, vpn * PAGE, -1, 0, got | 0, tid, cpu.op);
}

/**
 * Reads `n` random pages (of the first `pages`) of sibling threads' chunks:
 * each is zero, or this process's data. Siblings may be discarding or
 * unmapping them meanwhile; segfaults are fine when allowSegv.
 */
export function peekSiblings(
  k: KernelCtx, cpu: MmCpu, tid: number, mm: number, domain: number, pages: number, n: number, allowSegv: boolean,
): void {
  const nthreads = tw(k, tid, W_NTHREADS);
  if (nthreads < 2) return;
  const me = tw(k, tid, W_INDEX);
  for (let j = 0; j < n; j++) {
    let other = cpu.rng.below(nthreads - 1);
    if (other >= me) other++;
    const vpn = USER_BASE_VPN + other * CHUNK_PAGES + cpu.rng.below(pages);
    const got = userRead(k, mm, vpn * PAGE);
    cpu.stats.peeks++;
    if (got < 0) {
      if (got === FAULT_SIGSEGV && allowSegv) cpu.stats.expectedSegv++;
      else countFault(cpu, got);
    } else if (got !== 0 && (got >>> 16) !== domain) {
      readbackViolation(k, tid, cpu.op, vpn * PAGE, contentOf(domain, 0), got);
    }
  }
}

/** gupPeekSibling's pins (one CPU per worker thread). */
const gupPages = new Int32Array(16);

/**
 * Pins up to 16 pages of a sibling's first `pages` pages with
 * get_user_pages_fast (as process_vm_readv or O_DIRECT would), checks each
 * holds zero or data of this process, and drops the pins. Pages it could
 * not pin (the sibling's range is unmapped or changing) are the slow
 * path's business and only counted.
 */
export function gupPeekSibling(k: KernelCtx, cpu: MmCpu, tid: number, mm: number, domain: number, pages: number): void {
  const nthreads = tw(k, tid, W_NTHREADS);
  if (nthreads < 2) return;
  const me = tw(k, tid, W_INDEX);
  let other = cpu.rng.below(nthreads - 1);
  if (other >= me) other++;
  const first = cpu.rng.below(pages);
  const nr = Math.min(gupPages.length, pages - first);
  const vpn = USER_BASE_VPN + other * CHUNK_PAGES + first;
  const n = getUserPagesFast(k, mm, vpn, nr, false, gupPages);
  cpu.stats.gupFast++;
  if (n < nr) cpu.stats.gupFastMisses++;
  for (let i = 0; i < n; i++) {
    const got = readFrame(k.frame, gupPages[i]!);
    if (got !== 0 && (got >>> 16) !== domain) readbackViolation(k, tid, cpu.op, (vpn + i) * PAGE, contentOf(domain, 0), got);
    putPage(k, gupPages[i]!);
  }
}
