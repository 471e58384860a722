import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadEngine } from './helpers.js';
import type * as Jit from '../../src/engine/worker-jit.js';

// From dist/, as the engine itself loads it: one copy of the module's mode.
const jit = (await import(fileURLToPath(new URL('../../dist/src/engine/worker-jit.js', import.meta.url)))) as typeof Jit;
const { jitModeFor, setWorkerJitMode, workerJitMode } = jit;

describe('worker JIT mode (src/engine/worker-jit.ts)', () => {
  it('compiles on each CPU only when simulated CPUs outnumber host cores', () => {
    const cores = availableParallelism();
    expect(jitModeFor(cores)).toBe('background');
    expect(jitModeFor(cores + 1)).toBe('on-cpu');
    expect(jitModeFor(64 * cores)).toBe('on-cpu');
  });

  it('each free run sets the mode of its workers, and runs in either mode in one process', async () => {
    const { runFree } = await loadEngine();
    const over = availableParallelism() + 1;
    const a = await runFree({ scenario: 'ipi-storm', cpus: over, ops: 20 });
    expect(workerJitMode()).toBe('on-cpu');
    expect(a.violations).toBe(0);
    const b = await runFree({ scenario: 'ipi-storm', cpus: 1, ops: 20 });
    expect(workerJitMode()).toBe('background');
    expect(b.violations).toBe(0);
    expect(setWorkerJitMode('background')).toBe('background');
  }, 60_000);
});
