import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

describe('shootdown layout', () => {
  it('prints the region table for a 16 GiB, 64-CPU machine with at most 32 bytes of metadata per frame', () => {
    const r = runCli(['layout', '--mem', '16G', '--cpus', '64']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('| frame ');
    expect(r.stdout).toContain('4,194,304 frames');
    const m = /metadata per 4 KiB frame: ([\d.]+) bytes/.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(32);
  });

  it('prints regions with name, offset and bytes as JSON', () => {
    const r = runCli(['layout', '--mem', '1G', '--cpus', '8', '--format', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.bytesPerFrame).toBeLessThanOrEqual(32);
    const names = j.regions.map((x: { name: string }) => x.name);
    expect(names).toEqual(expect.arrayContaining(['frame', 'pageblock', 'tlb4k', 'pcp', 'csd', 'counters', 'trace', 'oracle']));
    for (const region of j.regions) {
      expect(typeof region.offset).toBe('number');
      expect(region.offset % 64).toBe(0);
      expect(region.bytes).toBeGreaterThan(0);
    }
    const frame = j.regions.find((x: { name: string }) => x.name === 'frame');
    expect(frame.count).toBe(262144);
  });

  it('emits a C header that declares every region struct', () => {
    const r = runCli(['layout', '--format', 'c', '--cpus', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('struct sd_frame {');
    expect(r.stdout).toContain('#define SD_PTE_HI_NX 0x80000000u');
    expect(r.stdout).toMatch(/#define SD_FRAME_COUNT 65536u/);
  });

  it.each([
    [['layout', '--mem', 'lots'], /--mem "lots" is not a size/],
    [['layout', '--mem', '5M'], /multiple of 4M/],
    [['layout', '--mem', '128G'], /between 8M and 64G/],
    [['layout', '--cpus', '65'], /--cpus 65 is out of range: use 1\.\.64/],
    [['layout', '--cpus', 'x'], /--cpus "x" is not a whole number/],
    [['layout', '--format', 'xml'], /--format "xml" is not one of: table, json, c/],
  ])('rejects bad input %j with one line and exit code 2', (args, message) => {
    const r = runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects an unknown command with exit code 2', () => {
    const r = runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });
});
