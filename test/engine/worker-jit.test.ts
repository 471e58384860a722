import { spawnSync } from 'node:child_process';
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

  it('SHOOTDOWN_WORKER_JIT overrides the choice, and refuses anything but the two modes', () => {
    expect(jitModeFor(64, { SHOOTDOWN_WORKER_JIT: 'background' })).toBe('background');
    expect(jitModeFor(1, { SHOOTDOWN_WORKER_JIT: 'on-cpu' })).toBe('on-cpu');
    expect(jitModeFor(1, { SHOOTDOWN_WORKER_JIT: '' })).toBe('background');
    expect(() => jitModeFor(1, { SHOOTDOWN_WORKER_JIT: 'fast' })).toThrow('SHOOTDOWN_WORKER_JIT=fast is not a mode: use background or on-cpu');
  });

  it('the CLI refuses a bad SHOOTDOWN_WORKER_JIT with one line and exit 2', () => {
    const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
    const r = spawnSync(process.execPath, [cli, 'run', 'ipi-storm', '--ops', '1'], { encoding: 'utf8', env: { ...process.env, SHOOTDOWN_WORKER_JIT: 'fast' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('shootdown: SHOOTDOWN_WORKER_JIT=fast is not a mode: use background or on-cpu\n');
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
