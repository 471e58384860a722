// Halt-polling (src/engine/halt-poll.ts, src/kernel/smp.ts setCsdHaltPoll):
// decided per run on the main thread, only when the run's CPUs do not
// outnumber the host's cores, never under the serialized engine, forced by
// SHOOTDOWN_HALT_POLL, and named in the run's result and report.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHaltPoll } from '../../src/engine/halt-poll.js';
import { decodeReportFile } from '../../src/report/report-file.js';
import { cliWithEnv, loadEngine } from './helpers.js';

const cli = (value: string | undefined, args: string[]) => cliWithEnv('SHOOTDOWN_HALT_POLL', value, args);

describe('halt-polling', () => {
  it('is on only while the CPUs do not outnumber the host cores, never serialized, and SHOOTDOWN_HALT_POLL forces the free engine\'s', () => {
    const cores = availableParallelism();
    expect(runHaltPoll('free', cores, {})).toBe(true);
    expect(runHaltPoll('free', cores + 1, {})).toBe(false);
    expect(runHaltPoll('serialized', 1, {})).toBe(false);
    expect(runHaltPoll('serialized', 1, { SHOOTDOWN_HALT_POLL: 'on' })).toBe(false);
    expect(runHaltPoll('free', 64 * cores, { SHOOTDOWN_HALT_POLL: 'on' })).toBe(true);
    expect(runHaltPoll('free', 1, { SHOOTDOWN_HALT_POLL: 'off' })).toBe(false);
    expect(() => runHaltPoll('free', 1, { SHOOTDOWN_HALT_POLL: 'yes' })).toThrow('SHOOTDOWN_HALT_POLL=yes is not a choice: use on or off');
  });

  it('the CLI refuses a bad SHOOTDOWN_HALT_POLL with one line and exit 2', () => {
    const r = cli('yes', ['run', 'ipi-storm', '--ops', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('shootdown: SHOOTDOWN_HALT_POLL=yes is not a choice: use on or off\n');
  });

  it('a free run says whether it halt-polled, and runs either way', async () => {
    const { runFree } = await loadEngine();
    const a = await runFree({ scenario: 'ipi-storm', cpus: 2, ops: 50 });
    expect(a.haltPoll).toBe(availableParallelism() >= 2);
    expect(a.violations).toBe(0);
    const b = await runFree({ scenario: 'ipi-storm', cpus: availableParallelism() + 1, ops: 50 });
    expect(b.haltPoll).toBe(false);
    expect(b.violations).toBe(0);
    const c = await runFree({ scenario: 'ipi-storm', cpus: 2, ops: 50, engine: 'serialized' });
    expect(c.haltPoll).toBe(false);
  }, 60_000);

  it('the run table\'s header names it when on', () => {
    expect(cli('on', ['run', 'ipi-storm', '--cpus', '2', '--ops', '20', '--no-progress']).stdout.split('\n')[0]).toMatch(/ \| halt-polling \| /);
    expect(cli('off', ['run', 'ipi-storm', '--cpus', '2', '--ops', '20', '--no-progress']).stdout.split('\n')[0]).not.toContain('halt-polling');
  }, 60_000);

  it('the report file records it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-haltpoll-'));
    try {
      const on = join(dir, 'on.pb');
      const off = join(dir, 'off.pb');
      expect(cli('on', ['run', 'ipi-storm', '--cpus', '2', '--ops', '20', '--out', on, '--no-progress']).status).toBe(0);
      expect(cli('off', ['run', 'ipi-storm', '--cpus', '2', '--ops', '20', '--out', off, '--no-progress']).status).toBe(0);
      expect(decodeReportFile(readFileSync(on))['haltPoll']).toBe(true);
      expect(decodeReportFile(readFileSync(off))['haltPoll']).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
