// map-unmap: a shootdown scenario (written by `shootdown new scenario map-unmap`).
//
// Every thread of the process maps its own region at set-up, then loops:
// write every page of the region (each write is read back and checked),
// munmap it, check that touching it now faults, and map it again. Sibling
// threads on other CPUs hold translations of the region (the hardware
// fills them speculatively), so every munmap is a TLB shootdown: a stale
// entry that outlives it shows up as an access to an unmapped page, or as
// a read of a frame that was freed and reused.
//
// Run it:   shootdown run --scenario-file map-unmap.mjs --cpus 4 --seconds 5
// Options:  shootdown run map-unmap --scenario-file map-unmap.mjs --options
// Compare:  shootdown compare map-unmap --scenario-file map-unmap.mjs --variant asi-off,asi-on
//
// Per-thread state lives in task words (tw/setTw), not in variables: a
// thread migrates between CPUs, and each CPU is its own worker thread.
import {
  defineMmScenario, sysMmap, sysMunmap, taskMm, tw, setTw, touchPages, expectSegv, mmDomain, secretOf,
  setupMmapError, W_PHASE, W_ITER, W_REGION, W_PAGES, VM_READ, VM_WRITE,
} from 'shootdown';

const NAME = 'map-unmap';
// W_PHASE counts the write passes of this round (0..touches-1); at touches the region is unmapped.
const PH_TOUCH = 0;

function mapRegion(k, tid, mm) {
  return sysMmap(k, mm, tw(k, tid, W_REGION), tw(k, tid, W_PAGES), VM_READ | VM_WRITE);
}

export default defineMmScenario({
  name: NAME,
  description: 'threads write their region, munmap it, check it faults, and map it again',
  // The scenario's own options (--option touches=3), beside the common ones
  // (threads, procs, mode, pages, specPercent, ...: see the README).
  options: {
    touches: { default: 1, min: 1, max: 64 }, // write passes over the region per unmap
  },
  // Common options this scenario changes the default of.
  defaults: { pages: 8 },

  // Set-up, on the main thread before any CPU runs: thread `index` of a
  // process gets its 2 MiB chunk (W_REGION, W_PAGES are set already).
  initThread(k, tid, mm, index, opts) {
    const r = mapRegion(k, tid, mm);
    if (r < 0) throw setupMmapError(NAME, 'a thread region', r, k);
  },

  // One op of thread `tid`, on whichever CPU it is scheduled.
  step(k, tid, cpu, opts) {
    const mm = taskMm(k, tid);
    const region = tw(k, tid, W_REGION);
    const pages = tw(k, tid, W_PAGES);
    const iter = tw(k, tid, W_ITER);
    if (tw(k, tid, W_PHASE) < opts.touches) {
      // Write a secret to every page and read it back (a mismatch is a
      // "readback" violation).
      touchPages(k, cpu, tid, mm, region, pages, mmDomain(k, mm), (i) => secretOf(tid, iter, i));
      setTw(k, tid, W_PHASE, tw(k, tid, W_PHASE) + 1);
      return;
    }
    // munmap, then a read of the range must fault ("unmapped-access"
    // otherwise), then map it again for the next round.
    sysMunmap(k, mm, region, pages);
    expectSegv(k, cpu, tid, mm, region + (iter % pages));
    if (mapRegion(k, tid, mm) < 0) cpu.stats.oom++;
    setTw(k, tid, W_ITER, iter + 1);
    setTw(k, tid, W_PHASE, PH_TOUCH);
  },
});
