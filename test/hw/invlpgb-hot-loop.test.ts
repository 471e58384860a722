import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { mapPte, pgdAlloc } from '../../src/kernel/mm/pgtable.js';
import { KB4, PCID_A, USER_VA, testMachine } from './helpers.js';

// access() reads the INVLPGB-pending word with a plain load (Atomics.load
// costs a builtin call per access in V8 11). This checks what that relies
// on: a CPU spinning on TLB hits in optimised code still sees a broadcast
// posted by another thread and applies it (TLBSYNC on the issuer completes).
describe('INVLPGB reaches a CPU in a hot loop of TLB hits', () => {
  it('is applied while the target spins in optimised access()', async () => {
    const m = testMachine({ cpus: 2 });
    const root = pgdAlloc(m.env, 0);
    mapPte(m.env, 0, root, USER_VA, m.alloc.allocPages(0, 0, 0), PTE_RW | PTE_US);
    const flags = new Int32Array(new SharedArrayBuffer(12));
    const w = new Worker(new URL('./invlpgb-hot-loop.worker.mjs', import.meta.url), {
      workerData: { sab: m.mem.sab, shape: m.mem.layout.shape, root, pcid: PCID_A, va: USER_VA, flagsSab: flags.buffer },
    });
    const exited = new Promise<number>((resolve, reject) => { w.on('exit', resolve); w.on('error', reject); });
    try {
      while (Atomics.load(flags, 0) === 0) await new Promise((r) => setTimeout(r, 5));
      // Let it run long enough to be optimised, then broadcast.
      await new Promise((r) => setTimeout(r, 300));
      const issuer = m.mmu(0).invlpgbPort;
      issuer.post(1, PCID_A, USER_VA / KB4, 1, 0);
      const t0 = Date.now();
      while (!issuer.synced() && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 5));
      expect(issuer.synced()).toBe(true);
    } finally {
      Atomics.store(flags, 1, 1);
      expect(await exited).toBe(0);
    }
  }, 30_000);
});
