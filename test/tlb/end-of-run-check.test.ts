import { afterEach, describe, expect, it } from 'vitest';
import { checkMachineAtEnd } from '../../src/check/machine-check.js';
import { putPage } from '../../src/kernel/mm/page-ref.js';
import { mmPgd } from '../../src/kernel/mm/mm.js';
import { unmapLeaf } from '../../src/kernel/mm/pgtable.js';
import { incMmTlbGen } from '../../src/kernel/tlb/flush-mm.js';
import { BASE, PAGE, kernelMachine, processWith, read, resetMachineState, switchTo, write } from './kernel-machine.js';

afterEach(resetMachineState);

/** CPU 1 caches a page of mm a that CPU 0 then unmaps and frees without any flush. */
function freedBehindItsBack() {
  const m = kernelMachine(2);
  const [k0, k1] = [m.cpu[0]!, m.cpu[1]!];
  const a = processWith(k0, 2);
  switchTo(k0, a);
  switchTo(k1, a);
  const pfn = write(k0, a, BASE, 1);
  read(k1, a, BASE);
  unmapLeaf(k0.env, mmPgd(k0, a), BASE * PAGE);
  putPage(k0, pfn);
  return { ...m, k0, k1, a, pfn };
}

describe('the end-of-run check', () => {
  it('is clean on a machine that only booted', () => {
    const { mem } = kernelMachine(2);
    expect(checkMachineAtEnd(mem)).toEqual({ violations: [], framesLost: 0 });
  });

  it('reports a TLB entry to a freed frame that the CPU would still use', () => {
    const { mem, pfn } = freedBehindItsBack();
    const r = checkMachineAtEnd(mem);
    expect(r.violations.some((v) => v.startsWith('cpu 1 TLB:') && v.includes(`frame ${pfn}`))).toBe(true);
  });

  it('excepts entries of a slot behind its mm\'s generation: the next switch or flush drops them', () => {
    const { mem, k0, a } = freedBehindItsBack();
    incMmTlbGen(k0, a);
    expect(checkMachineAtEnd(mem).violations.filter((v) => v.includes('TLB'))).toEqual([]);
  });

  it('counts a frame that is allocated but reachable from no address space as lost', () => {
    const { mem, cpu } = kernelMachine(2);
    cpu[0]!.alloc.allocPages(0, 0, 0);
    expect(checkMachineAtEnd(mem).framesLost).toBe(1);
  });
});
