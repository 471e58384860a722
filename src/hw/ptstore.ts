// Contents of page-table pages. A page-table page is a frame (pfn) in state
// FS_PAGETABLE whose frame.private names a slot of the ptStore region, where
// its 512 entries live as (lo, hi) word pairs. Slots come from a free stack
// (region ptSlots: words 0..2 a ticket spinlock, word 3 the top, then the
// stack) so that only frames that really are page tables cost 4 KiB of store.
//
// Entry write protocol. The hardware walker reads entries concurrently with
// the kernel writing them, and an entry is two words with no 64-bit atomic
// load (no BigInt here). Ordering alone cannot make the pair safe: a walker
// that reads lo, then hi, can be overtaken by clear + install B + install A
// (the same lo again) and pair A's lo with B's hi, a frame nobody mapped;
// re-reading lo does not see it (ABA), and a tight rewrite loop in
// test/hw/entry-protocol.test.ts produced exactly that torn pfn.
// So every table has two counters (region ptSeq): a kernel write bumps
// writesStarted before it touches the entry and writesDone after. A walker
// reads writesDone, then lo and hi, then writesStarted: if they differ, some
// write overlapped its read (or is in flight) and it reads again. Two counters
// instead of one odd/even sequence so that writers of different entries of
// one table need not exclude each other.
// Within a write, hi is still written before lo and a clear still zeroes lo
// first, so P is published after the address. Both words are accessed with
// Atomics (plain movs on x86) so the four reads are totally ordered with the
// counter updates, as a seqlock reader needs.
// The hardware's own A/D updates are compare-exchanges on lo that change no
// address bit; they need no counters.

import { PTE_P as PTE_P_, PT_WORDS as PT_WORDS_ } from '../../native-layout/bits.js';
import {
  FRAME_STRIDE as FRAME_STRIDE_, FR_PRIVATE as FR_PRIVATE_, PT_SEQ_DONE as PT_SEQ_DONE_, PT_SEQ_STARTED as PT_SEQ_STARTED_,
  PT_SEQ_STRIDE as PT_SEQ_STRIDE_,
} from '../../native-layout/fields.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const PTE_P = PTE_P_, PT_WORDS = PT_WORDS_, FRAME_STRIDE = FRAME_STRIDE_, FR_PRIVATE = FR_PRIVATE_, PT_SEQ_DONE = PT_SEQ_DONE_,
  PT_SEQ_STARTED = PT_SEQ_STARTED_, PT_SEQ_STRIDE = PT_SEQ_STRIDE_;

const SLOTS_LOCK = 0;
const SLOTS_TOP = 3;
const SLOTS_STACK = 4;

/** Boot: every slot free. Slot 0 is handed out first. */
export function initPtSlots(slots: Int32Array, ptPages: number): void {
  for (let i = 0; i < ptPages; i++) slots[SLOTS_STACK + i] = ptPages - 1 - i;
  Atomics.store(slots, SLOTS_TOP, ptPages);
}

/** A free store slot, or -1 when every slot is in use. */
export function allocPtSlot(slots: Int32Array): number {
  spinLock(slots, SLOTS_LOCK);
  const top = slots[SLOTS_TOP];
  let slot = -1;
  if (top > 0) {
    slot = slots[SLOTS_STACK + top - 1];
    slots[SLOTS_TOP] = top - 1;
  }
  spinUnlock(slots, SLOTS_LOCK);
  return slot;
}

export function freePtSlot(slots: Int32Array, slot: number): void {
  spinLock(slots, SLOTS_LOCK);
  const top = slots[SLOTS_TOP];
  slots[SLOTS_STACK + top] = slot;
  slots[SLOTS_TOP] = top + 1;
  spinUnlock(slots, SLOTS_LOCK);
}

export function freePtSlotCount(slots: Int32Array): number {
  return Atomics.load(slots, SLOTS_TOP);
}

/** The free slots (for the invariant checker; run it at a quiescent point). */
export function freePtSlotList(slots: Int32Array): number[] {
  const top = Atomics.load(slots, SLOTS_TOP);
  const out: number[] = [];
  for (let i = 0; i < top; i++) out.push(slots[SLOTS_STACK + i]);
  return out;
}

/**
 * Gives frame `pfn` an empty table in `slot`. The entries are zeroed before
 * the slot is published in frame.private, and the caller publishes the frame
 * itself (state, then the parent entry's Atomics.store), so a walker reaching
 * the new table never sees a previous owner's entries.
 */
export function attachPtSlot(frame: Int32Array, pt: Int32Array, seq: Int32Array, pfn: number, slot: number): void {
  // A walker still holding a stale pointer to this slot's previous table may
  // be reading it: the counters make it retry rather than pair old and new.
  beginWrite(seq, slot * PT_WORDS);
  pt.fill(0, slot * PT_WORDS, (slot + 1) * PT_WORDS);
  endWrite(seq, slot * PT_WORDS);
  Atomics.store(frame, pfn * FRAME_STRIDE + FR_PRIVATE, slot);
}

/** Detaches and returns the slot of `pfn` (frame.private becomes -1). */
export function detachPtSlot(frame: Int32Array, pfn: number): number {
  return Atomics.exchange(frame, pfn * FRAME_STRIDE + FR_PRIVATE, -1);
}

export function ptSlotOf(frame: Int32Array, pfn: number): number {
  return frame[pfn * FRAME_STRIDE + FR_PRIVATE];
}

/** Word index of entry `index` of the table in `slot` (lo at w, hi at w + 1). */
export function entryWord(slot: number, index: number): number {
  return slot * PT_WORDS + index * 2;
}

export function readLo(pt: Int32Array, w: number): number {
  return Atomics.load(pt, w);
}

export function readHi(pt: Int32Array, w: number): number {
  return Atomics.load(pt, w + 1);
}

/** Word index of the slot's counters in the ptSeq region, from an entry's word index. */
export function seqIndex(w: number): number {
  return ((w / PT_WORDS) | 0) * PT_SEQ_STRIDE;
}

export function beginWrite(seq: Int32Array, w: number): void {
  Atomics.add(seq, seqIndex(w) + PT_SEQ_STARTED, 1);
}

export function endWrite(seq: Int32Array, w: number): void {
  Atomics.add(seq, seqIndex(w) + PT_SEQ_DONE, 1);
}

/** Installs (lo, hi); lo should have P set. */
export function setEntry(pt: Int32Array, seq: Int32Array, w: number, lo: number, hi: number): void {
  beginWrite(seq, w);
  Atomics.store(pt, w + 1, hi);
  Atomics.store(pt, w, lo);
  endWrite(seq, w);
}

/** Clears the entry; returns the old lo with the A and D bits as last set (ptep_get_and_clear). */
export function clearEntry(pt: Int32Array, seq: Int32Array, w: number): number {
  beginWrite(seq, w);
  const old = Atomics.exchange(pt, w, 0);
  Atomics.store(pt, w + 1, 0);
  endWrite(seq, w);
  return old;
}

/**
 * Rewrites a present entry: lo becomes (old & keepMask) | setBits, keeping
 * whatever A and D the hardware set meanwhile (a compare-exchange loop, as the
 * kernel's ptep_modify_prot_start/commit pair keeps a racing D), and hi
 * becomes `hi`. Returns the new lo, or 0 if the entry was not present.
 */
export function modifyEntry(pt: Int32Array, seq: Int32Array, w: number, keepMask: number, setBits: number, hi: number): number {
  beginWrite(seq, w);
  let old = Atomics.load(pt, w);
  let next = 0;
  if ((old & PTE_P) !== 0) {
    Atomics.store(pt, w + 1, hi);
    for (;;) {
      next = (old & keepMask) | setBits;
      const seen = Atomics.compareExchange(pt, w, old, next);
      if (seen === old) break;
      old = seen;
    }
  }
  endWrite(seq, w);
  return next;
}
