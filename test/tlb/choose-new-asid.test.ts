import { afterEach, describe, expect, it } from 'vitest';
import { CPU_CTX_ID, CPU_CTX_TLB_GEN, CPU_INVALIDATE_OTHER, CPU_LOADED_MM_ASID, MM_CTX_ID, MM_STRIDE } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { VIOLATION_NAMES, firstViolation, violationCount } from '../../src/check/oracle.js';
import { ASID_FRESH, ASID_MASK, ASID_NEED_FLUSH, chooseNewAsid } from '../../src/kernel/tlb/asid.js';
import { incMmTlbGen } from '../../src/kernel/tlb/flush-mm.js';
import { BASE, cached, kernelMachine, processWith, read, resetMachineState, switchTo, write } from './kernel-machine.js';

afterEach(resetMachineState);

describe('choose_new_asid', () => {
  it('reuses the slot an mm already has, flushing it only when its generation is behind', () => {
    const { cpu } = kernelMachine(1);
    const k = cpu[0]!;
    const a = processWith(k, 4);
    switchTo(k, a);
    const asid = k.cpuState[k.cpuAt + CPU_LOADED_MM_ASID]!;
    expect(chooseNewAsid(k, a, 0)).toBe(asid);
    expect(chooseNewAsid(k, a, 1)).toBe(asid | ASID_NEED_FLUSH);
  });

  it('hands out fresh slots round robin, wrapping from 5 to 0 with the cursor reset to 1, and always flushes them', () => {
    const { cpu } = kernelMachine(1, { maxMms: 16 });
    const k = cpu[0]!;
    // Boot gave init_mm slot 0; the cursor stands at 1.
    const got: number[] = [];
    for (let i = 0; i < 7; i++) {
      const mm = processWith(k, 1);
      const r = chooseNewAsid(k, mm, 0);
      expect(r & (ASID_NEED_FLUSH | ASID_FRESH)).toBe(ASID_NEED_FLUSH | ASID_FRESH);
      got.push(r & ASID_MASK);
      k.cpuState[k.cpuAt + CPU_CTX_ID + (r & ASID_MASK)] = k.mm[mm * MM_STRIDE + MM_CTX_ID]!;
    }
    expect(got).toEqual([1, 2, 3, 4, 5, 0, 1]);
  });

  it('after a kernel flush that could not reach other PCIDs (invalidate_other), forgets every slot but the current one', () => {
    const { cpu } = kernelMachine(1);
    const k = cpu[0]!;
    const a = processWith(k, 1);
    const b = processWith(k, 1);
    switchTo(k, a);
    switchTo(k, b);
    const slotA = chooseNewAsid(k, a, 0);
    expect(slotA & ASID_FRESH).toBe(0);
    k.cpuState[k.cpuAt + CPU_INVALIDATE_OTHER] = 1;
    expect(chooseNewAsid(k, a, 0) & ASID_FRESH).toBe(ASID_FRESH);
    expect(chooseNewAsid(k, b, 0) & ASID_FRESH).toBe(0);
    expect(k.cpuState[k.cpuAt + CPU_INVALIDATE_OTHER]).toBe(0);
  });

  it('with stale-ctx-after-asid-evict, a slot taken from another mm keeps that mm\'s translations, which then hit for the new one', () => {
    // Eight ways: every process's entry for BASE fits in its set.
    const { mem, cpu } = kernelMachine(1, { maxMms: 16, tlb4kWays: 8 });
    const k = cpu[0]!;
    injected[BUG['stale-ctx-after-asid-evict']!] = 1;
    // Seven processes with the same layout round-robin through six slots:
    // the seventh takes the first one's slot.
    const mms = Array.from({ length: 7 }, () => processWith(k, 1));
    for (const [i, mm] of mms.entries()) {
      switchTo(k, mm);
      write(k, mm, BASE, 100 + i);
    }
    switchTo(k, mms[0]!);
    const slot = k.cpuState[k.cpuAt + CPU_LOADED_MM_ASID]!;
    // mms[0]'s data page, through whichever mm's entry the stale slot kept.
    expect(cached(k, BASE)).toBeGreaterThanOrEqual(0);
    expect(read(k, mms[0]!, BASE) & 0xffff).not.toBe(100);
    expect(k.cpuState[k.cpuAt + CPU_CTX_TLB_GEN + slot]).toBe(0);
    // The data oracle cannot tell (the stale entry leads to a live frame of
    // another process); the ghost check of the recorded generation can: the
    // slot names mms[0] but was never flushed for it (frameGen -1).
    expect(violationCount(mem.views)).toBeGreaterThan(0);
    const v = firstViolation(mem.views)!;
    expect([VIOLATION_NAMES[v.kind], v.frameGen]).toEqual(['flush-gen-ahead', -1]);
    expect(v.va).toBeLessThan(6);
  });

  it('without the bug, the same round robin always reads each process\'s own data', () => {
    const { cpu } = kernelMachine(1, { maxMms: 16 });
    const k = cpu[0]!;
    const mms = Array.from({ length: 7 }, () => processWith(k, 1));
    for (const [i, mm] of mms.entries()) {
      switchTo(k, mm);
      write(k, mm, BASE, 100 + i);
    }
    for (const [i, mm] of mms.entries()) {
      switchTo(k, mm);
      expect(read(k, mm, BASE) & 0xffff).toBe(100 + i);
    }
    incMmTlbGen(k, mms[0]!);
  });
});
