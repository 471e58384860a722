import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { CPU_ASI_TAINTS, MM_ASI_PGD, MM_PGD, MM_STRIDE } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { checkAsiPgd } from '../../src/check/asi-pgd.js';
import { V_ASI_STATE, V_ISOLATION, firstViolation, violationCount } from '../../src/check/oracle.js';
import { kernelReadPhysmap } from '../../src/kernel/asi/access.js';
import { ASI_EXIT_PAGE_FAULT, asiCheckCr3, asiCurr, asiEnter, asiExit } from '../../src/kernel/asi/enter-exit.js';
import { DIRECT_MAP_PGD_INDEX, physmapVa } from '../../src/kernel/asi/layout.js';
import { isAsiPcid } from '../../src/kernel/asi/pcid.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { sysMadviseDontneed } from '../../src/kernel/mm/madvise.js';
import { sysMunmap } from '../../src/kernel/mm/munmap.js';
import { ENOENT, PteRef, lookupAddress } from '../../src/kernel/mm/pgtable.js';
import { setPageblockNonsensitive } from '../../src/kernel/page_alloc/pageblock.js';
import { SITE_ASI_EXIT } from '../../src/kernel/points.js';
import { entryWord, ptSlotOf, setEntry } from '../../src/hw/ptstore.js';
import { setKernelPointHook } from '../../src/sync/hook.js';
import { readFrame } from '../../src/hw/frames.js';
import { BASE, PAGE, cached, processWith, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';
import { asiSpaceMachine as asiMachine } from './asi-space-machine.js';

afterEach(() => {
  setKernelPointHook(null);
  resetMachineState();
});

const counter = (k: KernelCtx, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;
const REASONS = ['asiExitsPageFault', 'asiExitsUserRet', 'asiExitsContextSwitch', 'asiExitsTlbFlush', 'asiExitsMisc'] as const;
const reasonSum = (k: KernelCtx): number => REASONS.reduce((n, r) => n + counter(k, r), 0);

/** A process running on k with BASE..BASE+3 written (so its user tables exist). */
function running(k: KernelCtx): { mm: number; pfn: number } {
  const mm = processWith(k, 4);
  switchTo(k, mm);
  const pfn = write(k, mm, BASE, 7);
  expect(pfn).toBeGreaterThanOrEqual(0);
  return { mm, pfn };
}

describe('the nonsensitive address space of an mm', () => {
  it('shares the user half (later mappings and unmappings show at once) and has no direct map', () => {
    const { mem, cpu: [k] } = asiMachine('asi-on');
    const { mm, pfn } = running(k!);
    const pgd = k!.mm[mm * MM_STRIDE + MM_PGD]!;
    const asiPgd = k!.mm[mm * MM_STRIDE + MM_ASI_PGD]!;
    expect(asiPgd).toBeGreaterThanOrEqual(0);
    const ref = new PteRef();
    expect(lookupAddress(k!.env, asiPgd, BASE * PAGE, ref)).toBe(1);
    expect(ref.pfn).toBe(pfn);
    expect(lookupAddress(k!.env, pgd, physmapVa(pfn), ref)).toBe(2);
    expect(lookupAddress(k!.env, asiPgd, physmapVa(pfn), ref)).toBe(ENOENT);
    expect(checkAsiPgd(mem, pgd, asiPgd)).toEqual([]);
    // munmap frees the tables: the PGD entry goes from both PGDs.
    expect(sysMunmap(k!, mm, BASE, 4)).toBe(0);
    expect(lookupAddress(k!.env, asiPgd, BASE * PAGE, ref)).toBe(ENOENT);
    expect(checkAsiPgd(mem, pgd, asiPgd)).toEqual([]);
  });

  it('the end check notices a nonsensitive PGD that kept the direct map', () => {
    const { mem, cpu: [k] } = asiMachine('asi-on');
    const { mm } = running(k!);
    const pgd = k!.mm[mm * MM_STRIDE + MM_PGD]!;
    const asiPgd = k!.mm[mm * MM_STRIDE + MM_ASI_PGD]!;
    leakDirectMap(k!, pgd, asiPgd);
    expect(checkAsiPgd(mem, pgd, asiPgd)).toEqual([`the direct map's PGD entry ${DIRECT_MAP_PGD_INDEX} is present`]);
  });

  it('asi-off builds none', () => {
    const { cpu: [k] } = asiMachine('asi-off');
    const { mm } = running(k!);
    expect(k!.mm[mm * MM_STRIDE + MM_ASI_PGD]).toBe(-1);
    asiEnter(k!, mm);
    expect(asiCurr(k!)).toBe(-1);
    expect(isAsiPcid(k!.mmu.cr3Pcid)).toBe(false);
  });
});

/** A broken design: copy the direct map's PGD entry into the nonsensitive PGD. */
function leakDirectMap(k: KernelCtx, pgd: number, asiPgd: number): void {
  const pt = k.env.pt;
  const w = entryWord(ptSlotOf(k.frame, pgd), DIRECT_MAP_PGD_INDEX);
  setEntry(pt, k.env.seq, entryWord(ptSlotOf(k.frame, asiPgd), DIRECT_MAP_PGD_INDEX), pt[w]!, pt[w + 1]!);
}

describe('asi_enter / asi_exit', () => {
  it('a kernel read of a sensitive page from the nonsensitive space faults through the walker, exits with PAGE_FAULT and retries', () => {
    const { cpu: [k] } = asiMachine('asi-on');
    const { mm, pfn } = running(k!);
    asiEnter(k!, mm);
    expect(asiCurr(k!)).toBe(mm);
    expect(isAsiPcid(k!.mmu.cr3Pcid)).toBe(true);
    const faults = counter(k!, 'pageFaults');
    expect(kernelReadPhysmap(k!, pfn)).toBe(readFrame(k!.frame, pfn));
    expect(counter(k!, 'pageFaults')).toBe(faults + 1);
    expect(asiCurr(k!)).toBe(-1);
    expect(isAsiPcid(k!.mmu.cr3Pcid)).toBe(false);
    expect(counter(k!, 'asiExitsPageFault')).toBe(1);
    expect(counter(k!, 'asiExits')).toBe(reasonSum(k!));
    // Now in the sensitive space: the same read hits the direct map.
    kernelReadPhysmap(k!, pfn);
    expect(counter(k!, 'asiExits')).toBe(1);
  });

  it('runs the mitigation only when a taint asks for it', () => {
    const { cpu: [k] } = asiMachine('asi-on');
    const { mm } = running(k!);
    asiEnter(k!, mm); // nothing ran before: no taint
    expect(counter(k!, 'asiMitigations')).toBe(0);
    asiEnter(k!, mm); // already inside: no transition
    expect(counter(k!, 'asiEnters')).toBe(1);
    asiExit(k!, ASI_EXIT_PAGE_FAULT); // user code ran: its control taint is flushed on the way in
    expect(counter(k!, 'asiMitigations')).toBe(1);
    asiEnter(k!, mm); // the kernel touched everything meanwhile: data flush
    expect(counter(k!, 'asiMitigations')).toBe(2);
    expect(k!.cpuState[k!.cpuAt + CPU_ASI_TAINTS]).not.toBe(0);
  });

  it('posted form: every enter drops the nonsensitive PCID; NOFLUSH: kept until the mm flushes', () => {
    for (const [variant, keptAfterReenter] of [['asi-on', false], ['asi-on+noflush', true]] as const) {
      const { cpu: [k] } = asiMachine(variant);
      const { mm } = running(k!);
      asiEnter(k!, mm);
      write(k!, mm, BASE + 1, 9);
      expect(cached(k!, BASE + 1)).toBeGreaterThanOrEqual(0);
      asiExit(k!, ASI_EXIT_PAGE_FAULT);
      asiEnter(k!, mm);
      expect(cached(k!, BASE + 1) >= 0).toBe(keptAfterReenter);
      write(k!, mm, BASE + 1, 9);
      // A flush of the mm (here the local one of madvise) leaves the space first and makes the PCID stale.
      expect(sysMadviseDontneed(k!, mm, BASE + 1, 1)).toBe(0);
      expect(asiCurr(k!)).toBe(-1);
      expect(counter(k!, 'asiExitsTlbFlush')).toBe(1);
      asiEnter(k!, mm);
      expect(cached(k!, BASE + 1)).toBe(-1);
      resetMachineState();
    }
  });
});

describe('curr_asi against CR3', () => {
  function interruptInExitWindow(k: KernelCtx): void {
    setKernelPointHook((site) => {
      if (site === SITE_ASI_EXIT) asiCheckCr3(k);
    });
  }

  it('an interrupt anywhere in asi_exit finds curr_asi set while CR3 may be nonsensitive', () => {
    const { mem, cpu: [k] } = asiMachine('asi-on');
    const { mm } = running(k!);
    interruptInExitWindow(k!);
    for (let i = 0; i < 3; i++) {
      asiEnter(k!, mm);
      asiExit(k!, ASI_EXIT_PAGE_FAULT);
    }
    expect(violationCount(mem.views)).toBe(0);
  });

  it('asi-clear-curr-before-cr3: the interrupt finds curr_asi clear and CR3 still nonsensitive', () => {
    const { mem, cpu: [k] } = asiMachine('asi-on');
    const { mm } = running(k!);
    interruptInExitWindow(k!);
    injected[BUG['asi-clear-curr-before-cr3']!] = 1;
    asiEnter(k!, mm);
    asiExit(k!, ASI_EXIT_PAGE_FAULT);
    expect(violationCount(mem.views)).toBe(1);
    expect(firstViolation(mem.views)).toMatchObject({ kind: V_ASI_STATE, cpu: k!.cpu });
  });
});

describe('the isolation oracle', () => {
  it('names the CPU that speculatively cached a sensitive frame in the nonsensitive space, and allows nonsensitive blocks', () => {
    const { mem, cpu: [, k] } = asiMachine('asi-on');
    const { mm, pfn } = running(k!);
    leakDirectMap(k!, k!.mm[mm * MM_STRIDE + MM_PGD]!, k!.mm[mm * MM_STRIDE + MM_ASI_PGD]!);
    asiEnter(k!, mm);
    setPageblockNonsensitive(mem.views.pageblock, pfn, true);
    expect(k!.mmu.specFill(physmapVa(pfn))).toBe(pfn);
    expect(violationCount(mem.views)).toBe(0);
    setPageblockNonsensitive(mem.views.pageblock, pfn, false);
    expect(k!.mmu.specFill(physmapVa(pfn))).toBe(pfn);
    expect(violationCount(mem.views)).toBe(1);
    expect(firstViolation(mem.views)).toMatchObject({ kind: V_ISOLATION, cpu: 1, pfn, va: physmapVa(pfn) });
    // and a hit on it is one more
    k!.mmu.read(physmapVa(pfn));
    expect(violationCount(mem.views)).toBe(2);
  });

  it('a correct nonsensitive space caches nothing of the direct map, however the hardware speculates', () => {
    const { mem, cpu: [k] } = asiMachine('asi-on');
    const { mm, pfn } = running(k!);
    asiEnter(k!, mm);
    expect(k!.mmu.specFill(physmapVa(pfn))).toBeLessThan(0);
    expect(violationCount(mem.views)).toBe(0);
  });
});
