import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { PTE_A, PTE_P, PTE_RW } from '../../native-layout/bits.js';
import { FAULT_NOT_PRESENT } from '../../src/hw/fault.js';
import { pteHi, pteLo } from '../../src/hw/pte.js';
import { PteRef, lookupAddress, mapPte, pgdAlloc } from '../../src/kernel/mm/pgtable.js';
import { USER_VA, testMachine } from './helpers.js';

// Two leaves whose high words differ: pairing one's lo with the other's hi
// gives a third frame, which only a torn read can produce. A is preset so the
// walker's own compare-exchange (which would also catch a moved lo) stays out.
const PFN_A = 5;
const PFN_B = 2 ** 20 + 7;

describe('page-table entry write protocol', () => {
  it('a walker racing with entry rewrites on another thread only sees whole entries', async () => {
    const m = testMachine();
    const root = pgdAlloc(m.env, 0);
    mapPte(m.env, 0, root, USER_VA, PFN_A, PTE_RW);
    const ref = new PteRef();
    lookupAddress(m.env, root, USER_VA, ref);
    const pt = m.mem.views.ptStore;
    const flags = new Int32Array(new SharedArrayBuffer(12)); // started, done, stop
    const worker = new Worker(new URL('./pte-writer.worker.mjs', import.meta.url), {
      workerData: {
        sab: m.mem.sab, ptOffset: pt.byteOffset, ptLength: pt.length,
        seqOffset: m.mem.views.ptSeq.byteOffset, seqLength: m.mem.views.ptSeq.length, word: ref.word, flagsSab: flags.buffer,
        loA: pteLo(PFN_A, PTE_P | PTE_RW | PTE_A), hiA: pteHi(PFN_A, 0),
        loB: pteLo(PFN_B, PTE_P | PTE_RW | PTE_A), hiB: pteHi(PFN_B, 0),
        rounds: 2_000_000,
      },
    });
    const exited = new Promise<number>((resolve, reject) => {
      worker.on('exit', resolve);
      worker.on('error', reject);
    });
    const walker = m.mmu(0).walker;
    const seen = new Map<number, number>();
    const deadline = Date.now() + 20_000;
    while (Atomics.load(flags, 0) === 0 && Date.now() < deadline) Atomics.wait(flags, 0, 0, 1);
    let walks = 0;
    const stopAt = Date.now() + 1500;
    while (Atomics.load(flags, 1) === 0) {
      const r = walker.walk(root, 1, USER_VA, false, false);
      seen.set(r, (seen.get(r) ?? 0) + 1);
      if ((++walks & 1023) === 0 && Date.now() > stopAt) Atomics.store(flags, 2, 1);
    }
    expect(await exited).toBe(0);
    expect([...seen.keys()].filter((r) => r !== PFN_A && r !== PFN_B && r !== FAULT_NOT_PRESENT)).toEqual([]);
    expect(seen.get(PFN_B) ?? 0).toBeGreaterThan(0);
  });
});
