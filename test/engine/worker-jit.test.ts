import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { cliWithEnv, loadEngine } from './helpers.js';
import type * as Jit from '../../src/engine/worker-jit.js';
import { decodeReportFile } from '../../src/report/report-file.js';

// From dist/, as the engine itself loads it: one copy of the module's mode.
const jit = (await import(fileURLToPath(new URL('../../dist/src/engine/worker-jit.js', import.meta.url)))) as typeof Jit;
const { jitModeFor, runJitMode, setWorkerJitMode, workerJitMode } = jit;

/** The built CLI with SHOOTDOWN_WORKER_JIT set to `mode`, or unset when undefined. */
const cliWithJit = (mode: string | undefined, args: string[]) => cliWithEnv('SHOOTDOWN_WORKER_JIT', mode, args);

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

  it('the serialized engine keeps the default, whatever the CPU count or SHOOTDOWN_WORKER_JIT', () => {
    expect(runJitMode('serialized', 64 * availableParallelism(), {})).toBe('background');
    expect(runJitMode('serialized', 1, { SHOOTDOWN_WORKER_JIT: 'on-cpu' })).toBe('background');
    expect(runJitMode('free', 1, { SHOOTDOWN_WORKER_JIT: 'on-cpu' })).toBe('on-cpu');
    expect(runJitMode('free', availableParallelism() + 1, {})).toBe('on-cpu');
  });

  it('the CLI refuses a bad SHOOTDOWN_WORKER_JIT with one line and exit 2', () => {
    const r = cliWithJit('fast', ['run', 'ipi-storm', '--ops', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('shootdown: SHOOTDOWN_WORKER_JIT=fast is not a mode: use background or on-cpu\n');
  });

  it('each free run sets the mode of its workers, and runs in either mode in one process', async () => {
    const { runFree } = await loadEngine();
    const over = availableParallelism() + 1;
    const a = await runFree({ scenario: 'ipi-storm', cpus: over, ops: 20 });
    expect(workerJitMode()).toBe('on-cpu');
    expect(a.workerJit).toBe('on-cpu');
    expect(a.violations).toBe(0);
    const b = await runFree({ scenario: 'ipi-storm', cpus: 1, ops: 20 });
    expect(workerJitMode()).toBe('background');
    expect(b.workerJit).toBe('background');
    expect(b.violations).toBe(0);
    const c = await runFree({ scenario: 'ipi-storm', cpus: over, ops: 20, engine: 'serialized' });
    expect(c.workerJit).toBe('background');
    expect(setWorkerJitMode('background')).toBe('background');
  }, 60_000);

  it('run names the mode in its header line, its JSON report and its report file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-jit-'));
    try {
      const args = ['run', 'ipi-storm', '--cpus', '1', '--ops', '20', '--no-progress'];
      const table = cliWithJit('on-cpu', args);
      expect(table.status, table.stderr).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/ \| watchdog 5000 ms \| worker JIT on-cpu( \| halt-polling)? \| shootdown /);
      const out = join(dir, 'r.pb');
      const json = cliWithJit('on-cpu', [...args, '--format', 'json', '--out', out]);
      expect(json.status, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout).workerJit).toBe('on-cpu');
      expect(decodeReportFile(readFileSync(out))['workerJit']).toBe('on-cpu');
      // Unforced, one CPU never outnumbers the host's cores.
      expect(JSON.parse(cliWithJit(undefined, [...args, '--format', 'json']).stdout).workerJit).toBe('background');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('soak names the mode in its summary and its header line', () => {
    const args = ['soak', '--scenarios', 'ipi-storm', '--seeds', '1', '--seconds', '0.3', '--cpus', '1', '--no-progress'];
    const json = cliWithJit('on-cpu', [...args, '--format', 'json']);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).workerJit).toBe('on-cpu');
    const table = cliWithJit(undefined, args);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/ \| worker JIT background( \| halt-polling)? \| shootdown /);
  }, 120_000);
});
