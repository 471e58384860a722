// Three of the 64-CPU cases in `npm test` (the whole sweep, every scenario
// in every mode, is `npm run test:long`): the largest set-up (guest-memfd's
// 1 GiB machine), separate processes (tlb-flush2 mode=processes), and an
// ephemeral-map scenario with mm-local regions for 64 CPUs.
import { describe, it } from 'vitest';
import { expectCleanAt64 } from './cpus64-cases.js';

describe('64 CPUs (a sample; npm run test:long runs every scenario)', () => {
  it.each([
    ['guest-memfd', []],
    ['tlb-flush2', ['--option', 'mode=processes']],
    ['ephmap-copy', ['--option', 'mode=threads']],
  ] as [string, string[]][])('%s %j runs clean on 64 CPUs', (scenario, extra) => {
    expectCleanAt64(scenario, extra);
  }, 180_000);
});
