// The third ghost invariant (src/check/ghost-table.ts): when a user page
// table is freed, no CPU's paging-structure cache may still point at it
// under a PCID that CPU could walk with before a flush. Checked at the free
// itself, so a lazy CPU that was skipped is caught without its walk ever
// landing on the reused frame.
import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { VIOLATION_NAMES, firstViolation, violationCount } from '../../src/check/oracle.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { sysMunmap } from '../../src/kernel/mm/munmap.js';
import { BASE, goLazy, kernelMachine, processWith, resetMachineState, switchTo, write } from './kernel-machine.js';

afterEach(resetMachineState);

const count = (k: KernelCtx, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;

/** CPUs 0 and 1 ran mm a; CPU 1 walked its pages (its PSC holds their PTE table), then went lazy. */
function lazyWalker() {
  const m = kernelMachine(3);
  const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
  const a = processWith(k0, 2);
  switchTo(k0, a);
  switchTo(k1, a);
  write(k1, a, BASE, 1);
  write(k1, a, BASE + 1, 2);
  goLazy(k1);
  return { ...m, k0, k1, a };
}

describe('freed page tables are not left in a paging-structure cache (ghost check)', () => {
  it('munmap of a whole table reaches the lazy CPU before the free: no report', () => {
    const { mem, k0, a } = lazyWalker();
    const freed = count(k0, 'pageTablesFreed');
    expect(sysMunmap(k0, a, BASE, 2)).toBe(0);
    expect(count(k0, 'pageTablesFreed')).toBeGreaterThan(freed);
    expect(violationCount(mem.views)).toBe(0);
  });

  it('with skip-lazy-on-pagetable-free, the free is reported at once, naming the lazy CPU and the one that freed', () => {
    const { mem, k0, a } = lazyWalker();
    injected[BUG['skip-lazy-on-pagetable-free']!] = 1;
    expect(sysMunmap(k0, a, BASE, 2)).toBe(0);
    const v = firstViolation(mem.views)!;
    expect(v).not.toBeNull();
    expect([VIOLATION_NAMES[v.kind], v.cpu, v.frameGen]).toEqual(['freed-table-cached', 1, 0]);
    expect(v.va).toBe(Math.floor((BASE * 4096) / 2 ** 21) * 2 ** 21);
  });
});
