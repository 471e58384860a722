// What the mm workloads share: the user address layout, the task-word
// layout, the data pattern and the will-it-scale style assertions.
//
// Layout: every process uses the same virtual addresses (so a PCID reused
// without a flush really does alias another process's pages): thread i of
// a process works in the 2 MiB chunk at USER_BASE_VPN + i * CHUNK_PAGES,
// which gives each thread a PTE table of its own under a shared PMD table.

import { MM_PID, MM_STRIDE } from '../../../native-layout/fields.js';
import { V_READBACK, reportViolation } from '../../check/oracle.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { taskW } from '../../kernel/sched/task.js';

export const PAGE = 4096;
/** 64 GiB: far from 0, and page numbers stay below 2^31. */
export const USER_BASE_VPN = 0x1000000;
export const CHUNK_PAGES = 512;

// Task words (task.w) every program uses the same way.
export const W_PHASE = 0;
export const W_ITER = 1;
/** First page of the thread's chunk. */
export const W_REGION = 2;
export const W_PAGES = 3;
/** Thread index in its process, and the process's thread count (for peeks). */
export const W_INDEX = 4;
export const W_NTHREADS = 5;
export const W_AUX0 = 6;
export const W_AUX1 = 7;
export const W_AUX2 = 8;

// Task kinds (task.kind): which program a task runs.
export const KIND_KTHREAD = 1;
export const KIND_TLB_FLUSH2 = 2;
export const KIND_MUNMAP_STORM = 3;
export const KIND_FORK_PARENT = 4;
export const KIND_FORK_CHILD = 5;
export const KIND_TLB_FLUSH1 = 6;
export const KIND_TLB_FLUSH3 = 7;
export const KIND_FIXMAP_SWITCH = 20;
export const KIND_MREMAP_MOVER = 10;
export const KIND_MREMAP_TRUNCATER = 11;
export const KIND_MREMAP_READER = 12;
export const KIND_RECLAIM_WRITER = 13;
export const KIND_RECLAIM_PROTECTOR = 14;
export const KIND_KSWAPD = 15;
// ephemeral maps (issue 7)
export const KIND_EPHEM_COPY = 30;
// combined-path scenarios (reach, issue 11)
export const KIND_SFW_WRITER = 40;
export const KIND_MADV_RACER = 41;
// mshare and secondary MMUs (issue 8, branch mshare)
export const KIND_MSHARE_OWNER = 50;
export const KIND_MSHARE_TOUCH = 51;
export const KIND_MSHARE_DMA = 52;
// hugetlb with shared PMD tables (issue 11)
export const KIND_HUGETLB_SHARER = 60;

export function chunkVpn(index: number): number {
  return USER_BASE_VPN + index * CHUNK_PAGES;
}

/** Content domain of an mm's writes: its pid, in the 16 bits a content word has. */
export function mmDomain(k: KernelCtx, mm: number): number {
  return k.mm[mm * MM_STRIDE + MM_PID] & 0xffff;
}

/** A non-zero 16-bit secret from three small numbers. */
export function secretOf(a: number, b: number, c: number): number {
  return ((Math.imul(a, 131) + Math.imul(b, 31) + Math.imul(c, 7)) >>> 0) % 65535 + 1;
}

export function contentOf(domain: number, secret: number): number {
  return ((domain << 16) | secret) >>> 0;
}

export function tw(k: KernelCtx, tid: number, i: number): number {
  return k.task[taskW(tid, i)]!;
}

export function setTw(k: KernelCtx, tid: number, i: number, value: number): void {
  k.task[taskW(tid, i)] = value;
}

/** The assertion failed: the page at va read `got` where the program expected `want`. */
export function readbackViolation(k: KernelCtx, tid: number, op: number, va: number, want: number, got: number): void {
  reportViolation(k.views, k.cpu, V_READBACK, va, -1, want | 0, got | 0, tid, op);
}
