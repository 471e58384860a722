// hunt: a free-engine failure becomes an exact serialized replay line, and
// the line it prints really fails the same way when run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../cli/helpers.js';
import { runArgsOf } from '../../src/replay/replay-line.js';

describe('shootdown hunt', () => {
  it('turns free-before-flush into a replay line that reproduces the same violation kind', () => {
    const r = runCli(['hunt', 'tlb-flush2-shared', '--inject', 'free-before-flush', '--cpus', '4', '--seconds', '60', '--sample', '3', '--format', 'json'], 180_000);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { signature: string; replay: string; reproduced: number; of: number; exact: boolean; free: { signature: string } };
    expect(out.signature).toMatch(/^violation:/);
    expect(out.free.signature).toBe(out.signature);
    expect(out.exact).toBe(true);
    expect(out.of).toBe(3);
    expect(out.reproduced).toBeGreaterThanOrEqual(0);
    expect(out.replay).toMatch(/--engine serialized --sched-seed \d+ --sched (random|pct) --preemptions \d+$/);
    // Run the printed line as a user would paste it: it fails with the same kind.
    const again = runCli(['run', ...runArgsOf(out.replay), '--format', 'json']);
    expect(again.code).toBe(1);
    const report = JSON.parse(again.stdout) as { engine: string; violationRecords: { kind: string }[] };
    expect(report.engine).toBe('serialized');
    expect(`violation:${report.violationRecords[0]!.kind}`).toBe(out.signature);
  });

  it('hunts the failure of a free run\'s report file (no free phase)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hunt-report-'));
    try {
      const file = join(dir, 'free.pb');
      // free-before-flush: its free failure is stale-at-flush every time (no-wait-for-ack
      // sometimes shows as stale-tlb first, a kind the search may miss in 60 s on a loaded host).
      const free = runCli(['run', 'tlb-flush2-shared', '--inject', 'free-before-flush', '--cpus', '4', '--seconds', '4', '--no-progress', '--out', file]);
      expect(free.code).toBe(1);
      const r = runCli(['hunt', file, '--seconds', '60', '--sample', '2', '--no-progress'], 180_000);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^hunt: target from .*free\.pb: violation:[a-z-]+ \[user va\] \(seed 1\)$/m);
      expect(r.stdout).toMatch(/^replay: shootdown run tlb-flush2-shared --cpus 4 --seed 1 --mem 16M --ops \d+ .*--inject free-before-flush --engine serialized /m);
      expect(r.stdout).toMatch(/^reproduces: \d+ of the first 2 schedule seeds of that shape \(\d+%\); replaying the line again gave the same digest$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says so and exits 5 when nothing fails within the budget', () => {
    const r = runCli(['hunt', 'tlb-flush2', '--cpus', '2', '--seconds', '3', '--no-progress']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^shootdown: hunt: nothing failed in [\d.]+ s of free runs of tlb-flush2: no target to hunt \(raise --seconds\)\n$/);
  });

  it('shows its phase on a terminal and clears the status line before the verdict', async () => {
    const cli = startCli(['hunt', 'tlb-flush2', '--cpus', '2', '--seconds', '3'], true);
    await cli.waitFor('free 0/');
    const { code } = await cli.exited;
    expect(code).toBe(5);
    expect(cli.output()).toMatch(/\r\x1b\[Kfree 0\/2: free engine, seed 1/);
    // The status line is erased (\r ESC[K) before the verdict is written.
    expect(cli.output()).toMatch(/seed 1\r\x1b\[K(\x1b\[\?25h|\x1b\[\?7h)*shootdown: hunt: nothing failed/);
  });

  it('refuses bad input with one line and exit 2', () => {
    const bad = runCli(['hunt', 'no-such-scenario', '--seconds', '1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const tries = runCli(['hunt', 'tlb-flush2', '--tries', '0']);
    expect(tries.code).toBe(2);
    expect(tries.stderr).toMatch(/--tries 0 is out of range/);
  });
});
