// SHOOTDOWN_STARTUP_LOG=1: a run's start-up, stage by stage, on stderr
// (src/engine/startup-log.ts), from the bundled workers the CLI starts,
// whose code comes from the main thread's V8 code cache: the log says when
// V8 refused that cache, so an accepted cache is checked here too.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function run(env: Record<string, string>): { code: number; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'run', 'ipi-storm', '--cpus', '3', '--ops', '2', '--no-progress', '--format', 'json'], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, stderr: r.stderr };
}

describe('the start-up log', () => {
  it('prints the main thread\'s stages and every CPU\'s, in order, and the workers use the code cache', () => {
    const r = run({ SHOOTDOWN_STARTUP_LOG: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/rejected the CPU worker code cache|no CPU worker code cache/);
    const lines = r.stderr.split('\n');
    const at = (stage: string): number[] => {
      const line = lines.find((l) => l.trim().startsWith(stage));
      expect(line, `stage "${stage}" in:\n${r.stderr}`).toBeDefined();
      return line!.trim().slice(stage.length).trim().split(/\s+/).map(Number);
    };
    expect(r.stderr).toMatch(/cpus \(3\): stage, first \/ median \/ last CPU/);
    const main = ['runFree called', 'memory ready', 'scenario set up', 'pool created'].map((s) => at(s)[0]!);
    const cpus = ['modules began evaluating', 'modules evaluated', 'task received', 'cpu context made', 'program made', 'barrier passed'].map((s) => at(s));
    for (let i = 1; i < main.length; i++) expect(main[i]!).toBeGreaterThanOrEqual(main[i - 1]!);
    for (const [first, median, last] of cpus) {
      expect(first!).toBeLessThanOrEqual(median!);
      expect(median!).toBeLessThanOrEqual(last!);
    }
    // Each CPU's stages in order (compared by their first CPU), all after the threads were made.
    for (let i = 1; i < cpus.length; i++) expect(cpus[i]![0]!).toBeGreaterThanOrEqual(cpus[i - 1]![0]!);
    // No CPU passes the barrier before the last one made its program.
    expect(cpus[5]![0]!).toBeGreaterThanOrEqual(cpus[4]![2]!);
  }, 90_000);

  it('is off by default: nothing on stderr', () => {
    const r = run({ SHOOTDOWN_STARTUP_LOG: '' });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  }, 90_000);
});
