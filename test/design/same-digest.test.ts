// The interface is the seam the built-ins use: a user module that spells
// out asi-on+ephmap's own policy objects runs the very same kernel. Under
// the serialized engine (one seeded schedule) both produce the same
// digest of counters, trace rings and oracle record.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/helpers.js';

const API_URL = new URL('../../dist/src/api.js', import.meta.url).href;

describe('a design made of the built-in policies', () => {
  it('runs exactly as the built-in variant it spells out (same serialized digest)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shootdown-same-'));
    const file = join(dir, 'same.mjs');
    writeFileSync(file, [
      `import { FLUSH_IPI, LAZY_TLB_LINUX, EPHEMERAL_EPHMAP, FLIP_LINUX, asiPolicyFor, parseVariant } from '${API_URL}';`,
      "export default { name: 'same-as-ephmap', base: 'asi-on+ephmap', flush: FLUSH_IPI, lazyTlb: LAZY_TLB_LINUX,",
      "  asi: asiPolicyFor(parseVariant('asi-on+ephmap')), ephemeralMap: EPHEMERAL_EPHMAP, flip: FLIP_LINUX };",
      '',
    ].join('\n'));
    const args = ['run', 'fio-randread', '--engine', 'serialized', '--sched-seed', '3', '--cpus', '4', '--ops', '150', '--format', 'json'];
    const builtin = runCli([...args, '--variant', 'asi-on+ephmap']);
    const user = runCli([...args, '--design', file]);
    expect(builtin.code).toBe(0);
    expect(user.code).toBe(0);
    const b = JSON.parse(builtin.stdout) as Record<string, unknown>;
    const u = JSON.parse(user.stdout) as Record<string, unknown>;
    expect(u['design']).toBe('same-as-ephmap');
    expect(u['digest']).toBe(b['digest']);
    expect(u['totals']).toEqual(b['totals']);
  }, 30_000);
});
