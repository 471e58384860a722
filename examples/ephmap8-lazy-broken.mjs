// ephmap8-lazy-broken: ephmap8-lazy.mjs with its one flush skipped, for
// the oracle to catch (test/design/examples.test.ts runs it on several
// seeds). Do not copy this one.
//
// The bug: when the ring wraps, slot 0 is mapped again without the flush
// that drops the translations the 8 lazy puts left behind. This CPU's TLB
// still translates slot 0 to the page it held 8 copies ago, so read()
// copies the old page to the user: fio-randread checks every block it
// reads against the file's known content and reports the readback.
//
// Run it:   shootdown run fio-randread --design ephmap8-lazy-broken.mjs --cpus 4 --seconds 5
import {
  currentMm, currentTask, designPageClear, designPageMap, ephemeralMarkStale, ephemeralRead, kernelReadPhysmap,
  migrateDisable, migrateEnable,
} from 'shootdown';
import good from './ephmap8-lazy.mjs';

const SLOTS = 8;
const nextSlot = new Int32Array(64);

function copyFromPageCache(k, pfn) {
  const mm = currentMm(k);
  const tid = currentTask(k);
  if (mm < 0 || tid < 0) return kernelReadPhysmap(k, pfn);
  const pinned = migrateDisable(k, tid);
  // BUG: wraps without flushLocalAllPcids(k).
  const slot = nextSlot[k.cpu] % SLOTS;
  nextSlot[k.cpu] = slot + 1;
  const va = designPageMap(k, mm, slot, pfn);
  const word = ephemeralRead(k, va);
  designPageClear(k, mm, slot);
  ephemeralMarkStale(k, mm);
  migrateEnable(k, tid, pinned);
  return word;
}

export default {
  ...good,
  name: 'ephmap8-lazy-broken',
  description: 'ephmap8-lazy without its wrap flush (a deliberate bug)',
  ephemeralMap: { ...good.ephemeralMap, name: 'ring8-no-wrap-flush', copyFromPageCache },
};
