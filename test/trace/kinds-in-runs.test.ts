// Trace files (issue 10): the kernel and hardware paths really emit the new
// kinds. Each run below is a short serialized run with a full trace; the
// kinds listed must each appear at least once.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTraceFile } from '../../src/trace/file.js';
import { runCli } from '../cli/helpers.js';

function kindsOf(args: string[]): { kinds: Set<string>; args: string[] } {
  const f = join(mkdtempSync(join(tmpdir(), 'shootdown-kinds-')), 'k.trc');
  const r = runCli(['run', ...args, '--cpus', '3', '--engine', 'serialized', '--no-progress', '--trace', f, '--trace-mode', 'full']);
  expect(r.code, r.stderr).toBe(0);
  const t = decodeTraceFile(readFileSync(f));
  return { kinds: new Set(t.events.map((e) => t.header.kindNames[e.kind]!)), args: t.events.map((e) => `${t.header.kindNames[e.kind]} ${e.b >>> 16}`) };
}

describe('event kinds emitted by real runs', () => {
  it('munmap-storm with INVLPGB: walks and fills, flush_tlb_mm_range, INVLPGB + TLBSYNC, contended locks, switches', () => {
    const { kinds } = kindsOf(['munmap-storm', '--variant', 'invlpgb', '--ops', '120']);
    for (const k of ['walk', 'tlb-fill', 'fault', 'flush-range', 'flush-tlb', 'invlpgb', 'tlbsync', 'lock-acquire', 'lock-release', 'ctx-switch', 'switch-mm', 'alloc', 'free']) {
      expect(kinds, k).toContain(k);
    }
  }, 90_000);

  it('page-cache-evict under ASI with the mermap: asi enter/exit, mermap map/unmap, IPIs sent, run and acknowledged', () => {
    const { kinds, args } = kindsOf(['page-cache-evict', '--variant', 'asi-on+mermap', '--ops', '80']);
    for (const k of ['asi-enter', 'asi-exit', 'eph-map', 'eph-unmap', 'ipi-send', 'ipi-run', 'ipi-ack', 'cr3']) expect(kinds, k).toContain(k);
    expect(args).toContain('eph-map 2'); // EPH_MERMAP in b's high half
  }, 90_000);

  it('ephmap-copy through kmap_local: its map and unmap', () => {
    const { args } = kindsOf(['ephmap-copy', '--option', 'map=kmap', '--ops', '60']);
    expect(args).toContain('eph-map 3'); // EPH_KMAP_LOCAL
    expect(args).toContain('eph-unmap 3');
  }, 90_000);
});
