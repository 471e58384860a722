import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WAIT_FUNCTIONS, readCpuProfile, topSelfTimes, waitingTimes } from '../../src/profile/cpuprofile.js';
import { runCli } from '../cli/helpers.js';

describe('shootdown profile', () => {
  it('writes one parseable CPU profile per simulated CPU and prints a merged top list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-profile-'));
    // A stale profile of a CPU this run does not have must be gone afterwards.
    writeFileSync(join(dir, 'cpu-07.cpuprofile'), '{}');
    const r = runCli(['profile', 'tlb-flush2', '--cpus', '3', '--seconds', '1', '--top', '8', '--out', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
    expect(files).toEqual(['cpu-00.cpuprofile', 'cpu-01.cpuprofile', 'cpu-02.cpuprofile']);
    for (const f of files) {
      const p = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      expect(Array.isArray(p.nodes) && p.nodes.length > 1).toBe(true);
      expect(Array.isArray(p.samples) && p.samples.length > 10).toBe(true);
      expect(p.timeDeltas).toHaveLength(p.samples.length);
    }
    // The printed list is the merged one: its first entry is the top of
    // the merge computed here from the same files.
    const profiles = files.map((f) => readCpuProfile(join(dir, f)));
    const top = topSelfTimes(profiles, 8, false, true);
    expect(top.length).toBeGreaterThan(0);
    const lines = r.stdout.split('\n').filter((l) => /^\s*\d+\.\d%\s/.test(l));
    expect(lines).toHaveLength(top.length);
    expect(lines[0]).toContain(top[0]!.fn);
    // Waiting is summed on its own line, not listed as work.
    expect(lines.some((l) => /\b(cpuSleepFor|startBarrier|apicHalt) \(/.test(l))).toBe(false);
    const waits = waitingTimes(profiles);
    expect(waits.length).toBeGreaterThan(0);
    const share = (waits.reduce((t, w) => t + w.share, 0) * 100).toFixed(1);
    expect(r.stdout).toContain(`waiting (asleep or spinning in Atomics.wait callers): ${share}% of sampled time`);
    // The kernel's own code shows up by name (unbundled workers).
    expect(top.some((t) => /\.js:\d+\)$/.test(t.fn))).toBe(true);
  }, 120_000);

  it('refuses a bad value in one line with exit 2', () => {
    const r = runCli(['profile', 'tlb-flush2', '--top', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const s = runCli(['profile', 'no-such-scenario']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('no-such-scenario');
  });
});

describe('topSelfTimes', () => {
  it('charges each interval to the node sampled before it and merges by function', () => {
    const node = (id: number, name: string) => ({ id, callFrame: { functionName: name, url: 'file:///x/a.js', lineNumber: id } });
    const p = { nodes: [node(1, 'f'), node(2, 'g')], startTime: 0, endTime: 60, samples: [1, 1, 2, 1], timeDeltas: [5, 10, 20, 30] };
    const q = { nodes: [node(1, 'f'), node(2, 'g')], startTime: 0, endTime: 10, samples: [2, 2], timeDeltas: [0, 7] };
    const top = topSelfTimes([p, q], 5);
    // p: f gets 10 (1->1) + 20 (1->2), g gets 30 (2->1); q: g gets 7.
    expect(top).toEqual([
      { fn: 'g (a.js:3)', selfUs: 37, share: 37 / 67 },
      { fn: 'f (a.js:2)', selfUs: 30, share: 30 / 67 },
    ]);
  });
});

describe('WAIT_FUNCTIONS', () => {
  it('names exactly the functions of src/ that call Atomics.wait', () => {
    const root = fileURLToPath(new URL('../../src/', import.meta.url));
    const found = new Set<string>();
    for (const f of readdirSync(root, { recursive: true }) as string[]) {
      if (!f.endsWith('.ts')) continue;
      let current = '';
      for (const line of readFileSync(join(root, f), 'utf8').split('\n')) {
        const m = /^(?:export )?(?:async )?function (\w+)/.exec(line);
        if (m) current = m[1]!;
        if (/Atomics\.wait\(/.test(line) && !/^\s*(\/\/|\*)/.test(line)) found.add(current);
      }
    }
    expect([...found].sort()).toEqual([...WAIT_FUNCTIONS].sort());
  });
});
