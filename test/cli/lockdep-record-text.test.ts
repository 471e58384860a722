// A lockdep violation record and its trace event are printed with lock
// class and kind names, not the raw va/pfn/generation fields.
import { describe, expect, it } from 'vitest';
import { EV_VIOLATION, describeEvent } from '../../src/trace/events.js';
import { V_LOCK_ORDER, V_STALE_TLB } from '../../src/check/oracle.js';
import { runCli } from './helpers.js';

describe('lockdep records in words', () => {
  it('trace event text names the oracle kind and, for lockdep, the lock classes', () => {
    // class 5 (asi-flip) taken against held class 6 (direct-map).
    expect(describeEvent(EV_VIOLATION, 5, V_LOCK_ORDER << 16, 6)).toBe('lock-order: took asi-flip against held direct-map');
    expect(describeEvent(EV_VIOLATION, 0x1000, V_STALE_TLB << 16, 42)).toBe('va 0x1000 pfn 42 kind stale-tlb');
  });

  it('run guest-memfd --inject recursive-split: first-violation line names the lock classes', () => {
    const r = runCli(['run', 'guest-memfd', '--variant', 'freetype', '--inject', 'recursive-split', '--cpus', '4', '--seconds', '3', '--no-progress'], 60_000);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^first violation: lock-order on cpu \d+ task -?\d+: took [a-z-]+ while holding [a-z-]+( > [a-z-]+)* \(/m);
    expect(r.stdout).not.toMatch(/first violation: lock-order .* generation/);
    expect(r.stdout).not.toContain('oracle kind');
  }, 60_000);
});
