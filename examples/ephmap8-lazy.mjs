// ephmap8-lazy: a shootdown design (template of `shootdown new design`).
//
// An ephemeral map for read()'s page-cache copies with 8 slots per CPU and
// lazy flushes: a put clears the slot's PTE but does not flush; the CPU
// walks its slots in a ring, and only when the ring wraps (before slot 0
// is mapped again) does it flush its TLB, once for all 8 puts. The
// built-in ephmap (1 slot, an INVLPG at every put) pays one flush per
// copy; this one pays one per 8 copies, as kmap's flush_all_zero_pkmaps()
// does for the highmem pool.
//
// Why the wrap flush must reach every PCID, not just the current one: a
// CPU may run several processes between two wraps, so slot 3 may have been
// used under process A's PCID, then the CPU switched to B. If the wrap
// flushed only B's PCID, A's stale entry for slot 3 would survive, and
// when the CPU switches back to A (same PCID, no flush: A's generation did
// not move) the next map of slot 3 would be read through the old
// translation: the reader gets the previous page. flushLocalAllPcids is
// INVPCID type 3.
//
// The mitigation rule stays the built-in's: every put marks the mm stale,
// and when the process loses access to a page (eviction, last close) the
// kernel calls loseAccess, the mm-wide flush.
//
// Run it:      shootdown run fio-randread --design ephmap8-lazy.mjs --cpus 4 --seconds 5
// Compare:     shootdown compare fio-randread --variant asi-on+ephmap,./ephmap8-lazy.mjs --samples 3 --cpus 4
// Soak:        shootdown soak --scenarios fio-randread --design ephmap8-lazy.mjs --seconds 30
//
// A design names its base variant (the machine it boots: here ASI on, with
// the mm-local region the ephemeral maps live in) and the policies it
// replaces; every other policy is the base's. Module-level state is per
// worker thread, and each CPU runs in its own worker: keep per-CPU state in
// arrays indexed by k.cpu (a single-thread test plays several CPUs).
import {
  EPHEMERAL_EPHMAP, currentMm, currentTask, designPageClear, designPageMap, designPageVa, ephemeralMarkStale,
  ephemeralRead, flushLocalAllPcids, kernelReadPhysmap, migrateDisable, migrateEnable, mitigationFlush,
} from 'shootdown';

const NAME = 'ephmap8-lazy';
/** Slots per CPU (design window pages 0..SLOTS-1). */
const SLOTS = 8;
/** The next slot each CPU hands out; SLOTS means "wrapped: flush first". */
const nextSlot = new Int32Array(64);

/** Takes this CPU's next slot, flushing first when the ring wraps. */
function slotGet(k) {
  let s = nextSlot[k.cpu];
  if (s >= SLOTS) {
    // Every slot was cleared by its put, but none was flushed: drop them
    // all (under every PCID) before any is mapped again.
    flushLocalAllPcids(k);
    s = 0;
  }
  nextSlot[k.cpu] = s + 1;
  return s;
}

/** read()'s copy: map the page at the next slot, copy, clear the PTE (no flush), mark the mm stale. */
function copyFromPageCache(k, pfn) {
  const mm = currentMm(k);
  const tid = currentTask(k);
  if (mm < 0 || tid < 0) return kernelReadPhysmap(k, pfn);
  // The slot is this CPU's: the task must not migrate until the put.
  const pinned = migrateDisable(k, tid);
  const slot = slotGet(k);
  const va = designPageMap(k, mm, slot, pfn);
  const word = ephemeralRead(k, va);
  designPageClear(k, mm, slot);
  // From here a CPU of mm may hold a translation the PTE no longer has:
  // the mitigation flush at eviction must cover it.
  ephemeralMarkStale(k, mm);
  migrateEnable(k, tid, pinned);
  return word;
}

export default {
  name: NAME,
  description: 'ephemeral map with 8 slots per CPU, flushed once per wrap instead of at every put',
  base: 'asi-on+ephmap',
  ephemeralMap: {
    name: 'ring8-lazy-wrap',
    copyFromPageCache,
    // Copy-on-write keeps the built-in ephmap's copy (it needs two slots at once).
    copyUserPage: EPHEMERAL_EPHMAP.copyUserPage,
    loseAccess: mitigationFlush,
  },
};

// For tests and readers: where slot s of CPU c lives.
export function slotVa(cpu, s) {
  return designPageVa(cpu, s);
}
