// Every scenario at 64 CPUs, first half: threads mode and scenarios without
// modes (cpus64-cases.ts); cpus64-processes.test.ts has the rest.
import { describe, it } from 'vitest';
import { CASES, expectCleanAt64 } from './cpus64-cases.js';

describe('every scenario at 64 CPUs (threads mode)', () => {
  it.each(CASES.filter((c) => c[2] !== 'processes'))('%s %j runs clean on 64 CPUs', (scenario, extra) => {
    expectCleanAt64(scenario, extra);
  }, 180_000);
});
