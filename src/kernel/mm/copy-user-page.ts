// How copy-on-write copies a page (copy_user_highpage() in do_wp_page's
// wp_page_copy() and do_cow_fault()): the seam the ephemeral maps plug
// into, chosen once per design like read()'s copy (copy-page-cache.ts):
// the ephemeralMap policy's copyUserPage (src/kernel/design/builtins.ts).
//
// The fault runs in whatever address space the CPU was in when user mode
// trapped: under ASI, the nonsensitive one (asi_enter ran on the way back
// to user, and a user page fault does not leave it by itself). Copying
// through the direct map then touches two sensitive user pages the
// nonsensitive physmap does not map: the first access faults and exits ASI
// with reason PAGE_FAULT (exc_page_fault -> asi_exit in the ASI branch),
// and the rest of the fault runs in the sensitive space. An ephemeral map
// avoids that only if it can hold source and destination at once: the
// ephmap as posted has K = 1 slot, so a copy-on-write fault maps the
// source and falls back to the direct map for the destination, which is
// why the August 2025 numbers still list copy-on-write among the exits.

import type { KernelCtx } from '../ctx.js';
import { kernelReadPhysmap, kernelWritePhysmap } from '../asi/access.js';
import { readFrame, writeFrame } from '../../hw/frames.js';

/**
 * Copies the content of frame src to frame dst (both pages of the current
 * process). srcLeaving: the caller drops the process's last logical access
 * to src right after (do_wp_page on an anonymous page), so an ephemeral
 * map must run its mitigation flush first (kernel/ephmap/copy-user.ts).
 */
export type CopyUserPage = (k: KernelCtx, dst: number, src: number, srcLeaving: boolean) => void;

/**
 * Without ASI: the direct map is always present, so the copy cannot fault;
 * its TLB traffic is not modelled (the frames are copied directly), which
 * keeps the TLB-layer scenarios' pressure what it was.
 */
export function copyUserPageDirect(k: KernelCtx, dst: number, src: number, _srcLeaving: boolean): void {
  const word = readFrame(k.frame, src);
  writeFrame(k.frame, dst, word >>> 16, word & 0xffff);
}

/** Under ASI with no ephemeral map: through the direct map, which faults (PAGE_FAULT exit) in the nonsensitive space. */
export function copyUserPageViaPhysmap(k: KernelCtx, dst: number, src: number, _srcLeaving: boolean): void {
  kernelWritePhysmap(k, dst, kernelReadPhysmap(k, src));
}
