// Frame contents. A frame does not hold 4 KiB of bytes: one content word
// (owner domain << 16 | secret tag) says whose data it is, and contentGen,
// bumped by the allocator on every free, says which incarnation of the frame
// a translation was made for (the oracle compares it with a TLB entry's
// fillGen). See SEMANTICS.md §1.

import {
  CONTENT_DOMAIN_SHIFT as CONTENT_DOMAIN_SHIFT_, CONTENT_SECRET_MASK as CONTENT_SECRET_MASK_, FRAME_F_ZEROED as FRAME_F_ZEROED_,
  FRAME_STATE_MASK as FRAME_STATE_MASK_,
} from '../../native-layout/bits.js';
import {
  FRAME_STRIDE as FRAME_STRIDE_, FR_CONTENT as FR_CONTENT_, FR_CONTENT_GEN as FR_CONTENT_GEN_, FR_FLAGS as FR_FLAGS_,
} from '../../native-layout/fields.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const CONTENT_DOMAIN_SHIFT = CONTENT_DOMAIN_SHIFT_, CONTENT_SECRET_MASK = CONTENT_SECRET_MASK_, FRAME_F_ZEROED = FRAME_F_ZEROED_,
  FRAME_STATE_MASK = FRAME_STATE_MASK_, FRAME_STRIDE = FRAME_STRIDE_, FR_CONTENT = FR_CONTENT_, FR_CONTENT_GEN = FR_CONTENT_GEN_,
  FR_FLAGS = FR_FLAGS_;

export function contentWord(domain: number, secret: number): number {
  return ((domain << CONTENT_DOMAIN_SHIFT) | (secret & CONTENT_SECRET_MASK)) >>> 0;
}

export function contentDomain(word: number): number {
  return word >>> CONTENT_DOMAIN_SHIFT;
}

export function contentSecret(word: number): number {
  return word & CONTENT_SECRET_MASK;
}

/** The content word, unsigned (so it never looks like a fault code). */
export function readFrame(frame: Int32Array, pfn: number): number {
  return frame[pfn * FRAME_STRIDE + FR_CONTENT] >>> 0;
}

export function writeFrame(frame: Int32Array, pfn: number, domain: number, secret: number): void {
  const base = pfn * FRAME_STRIDE;
  frame[base + FR_CONTENT] = contentWord(domain, secret);
  // The flags word is shared with the allocator's state bits: clear the flag
  // with an atomic RMW, and only when set, so ordinary writes stay plain stores.
  if ((frame[base + FR_FLAGS] & FRAME_F_ZEROED) !== 0) Atomics.and(frame, base + FR_FLAGS, ~FRAME_F_ZEROED);
}

export function zeroFrame(frame: Int32Array, pfn: number): void {
  const base = pfn * FRAME_STRIDE;
  frame[base + FR_CONTENT] = 0;
  Atomics.or(frame, base + FR_FLAGS, FRAME_F_ZEROED);
}

export function frameGen(frame: Int32Array, pfn: number): number {
  return frame[pfn * FRAME_STRIDE + FR_CONTENT_GEN];
}

export function frameState(frame: Int32Array, pfn: number): number {
  return frame[pfn * FRAME_STRIDE + FR_FLAGS] & FRAME_STATE_MASK;
}

/**
 * Replaces the state bits, keeping order and flag bits. Atomic: a walker
 * following a stale paging-structure pointer reads this word concurrently.
 */
export function setFrameState(frame: Int32Array, pfn: number, state: number): void {
  const i = pfn * FRAME_STRIDE + FR_FLAGS;
  let old = Atomics.load(frame, i);
  for (;;) {
    const seen = Atomics.compareExchange(frame, i, old, (old & ~FRAME_STATE_MASK) | state);
    if (seen === old) return;
    old = seen;
  }
}
