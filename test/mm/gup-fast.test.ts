// get_user_pages_fast (src/kernel/mm/gup.ts): the lockless walk pins pages
// with speculative references and rechecks; under INVLPGB a table it walks
// is freed only after an IPI round (src/kernel/tlb/table-free.ts), and
// without that round (invlpgb-table-free-no-sync, a37259732a7d reverted) the
// walk reports sw-walk-freed-table.
import { afterEach, describe, expect, it } from 'vitest';
import { BUG, injected } from '../../src/check/bugs.js';
import { VIOLATION_NAMES, violationCount, violationRecords } from '../../src/check/oracle.js';
import { applyFlushPolicy } from '../../src/kernel/design/apply.js';
import { FLUSH_INVLPGB } from '../../src/kernel/design/builtins.js';
import { getUserPagesFast } from '../../src/kernel/mm/gup.js';
import { mmPgd } from '../../src/kernel/mm/mm.js';
import { sysMunmap } from '../../src/kernel/mm/munmap.js';
import { pageRefcount, putPage } from '../../src/kernel/mm/page-ref.js';
import { pteTablePfn } from '../../src/kernel/mm/zap.js';
import { SITE_GUP_FAST } from '../../src/kernel/points.js';
import { ipisSent } from '../../src/kernel/tlb/flush-mm.js';
import { tlbRemoveTableSync } from '../../src/kernel/tlb/table-free.js';
import { setKernelPointHook } from '../../src/sync/hook.js';
import { BASE, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(() => {
  setKernelPointHook(null);
  resetMachineState();
});

/** 4 CPUs on one mm with `pages` written pages at BASE, the INVLPGB flush policy on each. */
function sharedMm(pages: number) {
  const m = kernelMachine(4);
  const k0 = m.cpu[0]!;
  const a = processWith(k0, pages);
  for (const k of m.cpu) {
    applyFlushPolicy(k, FLUSH_INVLPGB);
    switchTo(k, a);
  }
  const pfns: number[] = [];
  for (let i = 0; i < pages; i++) pfns.push(write(k0, a, BASE + i, i + 1));
  for (const k of m.cpu) read(k, a, BASE);
  return { ...m, k0, k1: m.cpu[1]!, a, pfns };
}

describe('get_user_pages_fast', () => {
  it('pins the mapped pages in order with a reference each and stops at the first unmapped one', () => {
    const { k1, a, pfns, mem } = sharedMm(6);
    const out = new Int32Array(16);
    const before = pfns.map((p) => pageRefcount(k1, p));
    // Pages 6.. are inside the VMA but never touched: no PTE, the slow path's.
    expect(getUserPagesFast(k1, a, BASE + 2, 10, false, out)).toBe(4);
    expect(Array.from(out.subarray(0, 4))).toEqual(pfns.slice(2, 6));
    for (let i = 2; i < 6; i++) expect(pageRefcount(k1, pfns[i]!)).toBe(before[i]! + 1);
    for (let i = 0; i < 4; i++) putPage(k1, out[i]!);
    for (let i = 0; i < 6; i++) expect(pageRefcount(k1, pfns[i]!)).toBe(before[i]);
    expect(violationCount(mem.views)).toBe(0);
  });

  it('pins nothing where no table is linked, and never more than the PTE table holds', () => {
    const { k1, a } = sharedMm(2);
    const out = new Int32Array(16);
    expect(getUserPagesFast(k1, a, BASE + 4096, 4, false, out)).toBe(0);
    expect(getUserPagesFast(k1, a, BASE + 511, 16, false, out)).toBe(0);
  });

  it('a table-freeing INVLPGB flush is followed by an IPI round to every other CPU before the free', () => {
    const { k0, a } = sharedMm(4);
    const sent = ipisSent(k0);
    expect(sysMunmap(k0, a, BASE, 4)).toBe(0);
    expect(pteTablePfn(k0, mmPgd(k0, a), BASE * 4096)).toBe(-1);
    // The flush itself sent none (INVLPGB); the sync round one to each of the 3 others.
    expect(ipisSent(k0) - sent).toBe(3);
    // Nothing was broadcast since: a second sync is free.
    tlbRemoveTableSync(k0);
    expect(ipisSent(k0) - sent).toBe(3);
  });

  it('with invlpgb-table-free-no-sync, a munmap that frees the table under a walk is reported, naming gup_fast', () => {
    const { k0, k1, a } = sharedMm(4);
    const table = pteTablePfn(k0, mmPgd(k0, a), BASE * 4096);
    injected[BUG['invlpgb-table-free-no-sync']!] = 1;
    const sent = ipisSent(k0);
    // CPU 1 is inside its walk (interrupts off) when CPU 0 unmaps the range.
    let staged = false;
    setKernelPointHook((site) => {
      if (site !== SITE_GUP_FAST || staged) return;
      staged = true;
      expect(sysMunmap(k0, a, BASE, 4)).toBe(0);
    });
    const out = new Int32Array(4);
    expect(getUserPagesFast(k1, a, BASE, 4, false, out)).toBe(0);
    expect(staged).toBe(true);
    expect(ipisSent(k0) - sent).toBe(0);
    const recs = violationRecords(k0.views);
    expect(recs.length).toBeGreaterThan(0);
    const r = recs[0]!;
    expect([VIOLATION_NAMES[r.kind], r.cpu, r.pfn, r.swWalker, r.swLevel]).toEqual(['sw-walk-freed-table', 1, table, 'gup_fast', 1]);
  });
});
