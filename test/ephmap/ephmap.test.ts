import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { INIT_MM, PTE_G, PTE_P } from '../../native-layout/bits.js';
import { CPU_CTX_ID, CPU_CTX_TLB_GEN, CPU_LOADED_MM_ASID, MM_CTX_ID, MM_PGD, MM_STRIDE, MM_TLB_GEN } from '../../native-layout/fields.js';
import { ghostFullFlush } from '../../src/check/ghost-gen.js';
import { checkAllocator } from '../../src/check/allocator-invariants.js';
import { auditEphemeralLeak } from '../../src/check/ephemeral-audit.js';
import { BUG, injected } from '../../src/check/bugs.js';
import { V_EPHMAP, V_ISOLATION, firstViolation, resetOracle, violationCount } from '../../src/check/oracle.js';
import { readFrame, writeFrame } from '../../src/hw/frames.js';
import { entryWord, ptSlotOf, readLo } from '../../src/hw/ptstore.js';
import type { KernelCtx } from '../../src/kernel/ctx.js';
import { ephmapGet, ephmapPut, ephemeralRead, setEphmapSlots } from '../../src/kernel/ephmap/ephmap.js';
import { mitigationFlush } from '../../src/kernel/ephmap/mitigation.js';
import { MM_LOCAL_PGD_SLOT, enableMmLocalRegion, cpuWindowBase } from '../../src/kernel/ephmap/region.js';
import { speculateEphemeral } from '../../src/kernel/ephmap/speculate-ephemeral.js';
import { EBUSY, lookupAddress, PteRef } from '../../src/kernel/mm/pgtable.js';
import { mmAlloc, mmdrop } from '../../src/kernel/mm/mm.js';
import { exitMmap } from '../../src/kernel/mm/exit.js';
import { GFP_KERNEL } from '../../src/kernel/page_alloc/gfp.js';
import { kernelMachine, resetMachineState, switchTo } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

const count = (k: KernelCtx, name: keyof typeof C): number => k.counters[k.countersAt + C[name]]!;

function frames(k: KernelCtx, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const pfn = k.alloc.allocPages(k.cpu, 0, GFP_KERNEL);
    writeFrame(k.frame, pfn, 9, 200 + i);
    out.push(pfn);
  }
  return out;
}

function machine(cpus = 2): { cpu: readonly KernelCtx[]; mm: number } {
  const m = kernelMachine(cpus);
  enableMmLocalRegion(m.cpu[0]!);
  const mm = mmAlloc(m.cpu[0]!);
  for (const k of m.cpu) switchTo(k, mm);
  return { cpu: m.cpu, mm };
}

describe('mm-local region', () => {
  it('sits in the mm\'s own PGD slot (not init_mm\'s) with a non-present sentinel-free ephmap area and tables for every CPU', () => {
    const { cpu, mm } = machine(3);
    const k = cpu[0]!;
    const pgd = k.mm[mm * MM_STRIDE + MM_PGD]!;
    const initPgd = k.mm[INIT_MM * MM_STRIDE + MM_PGD]!;
    expect(readLo(k.env.pt, entryWord(ptSlotOf(k.frame, pgd), MM_LOCAL_PGD_SLOT)) & PTE_P).toBe(PTE_P);
    expect(readLo(k.env.pt, entryWord(ptSlotOf(k.frame, initPgd), MM_LOCAL_PGD_SLOT)) & PTE_P).toBe(0);
    const before = count(k, 'pageTablesAllocated');
    const [pfn] = frames(k, 1);
    for (let c = 0; c < 3; c++) {
      const kc = cpu[c]!;
      const va = ephmapGet(kc, mm, 0, pfn!, 1, 1);
      expect(va).toBe(cpuWindowBase(c));
      const ref = new PteRef();
      expect(lookupAddress(kc.env, pgd, va, ref)).toBe(1);
      expect(ref.prot & PTE_G).toBe(0);
      ephmapPut(kc, mm, va, 1);
    }
    expect(count(k, 'pageTablesAllocated')).toBe(before);
  });

  it('frees its tables with the mm: no frame lost', () => {
    const m = kernelMachine(2);
    const k = m.cpu[0]!;
    enableMmLocalRegion(k);
    const alloc0 = count(k, 'pageTablesAllocated');
    const freed0 = count(k, 'pageTablesFreed');
    const mm = mmAlloc(k);
    // PGD, PUD, PMD and one PTE table per CPU.
    expect(count(k, 'pageTablesAllocated') - alloc0).toBe(3 + 2);
    exitMmap(k, mm);
    mmdrop(k, mm);
    expect(count(k, 'pageTablesFreed') - freed0).toBe(3 + 2);
    expect(checkAllocator(m.mem)).toEqual([]);
  });
});

describe('ephmap get/put', () => {
  it('maps, reads, and flushes only locally: one INVLPG per page below 33, a full local flush above', () => {
    const { cpu, mm } = machine();
    const k = cpu[0]!;
    const f = frames(k, 1);
    const va = ephmapGet(k, mm, 0, f[0]!, 1, 1);
    expect(ephemeralRead(k, va)).toBe(readFrame(k.frame, f[0]!));
    const inv = count(k, 'invlpg');
    ephmapPut(k, mm, va, 1);
    expect(count(k, 'invlpg')).toBe(inv + 1);
    expect(count(k, 'ipisSent')).toBe(0);
    // 40 contiguous frames: a full local flush instead of 40 INVLPGs.
    const base = k.alloc.allocPages(0, 6, GFP_KERNEL);
    const va2 = ephmapGet(k, mm, 0, base, 40, 1);
    for (let i = 0; i < 40; i++) k.mmu.read(va2 + i * 4096);
    const inv2 = count(k, 'invlpg');
    const full = count(k, 'flushesFull');
    ephmapPut(k, mm, va2, 40);
    expect(count(k, 'invlpg')).toBe(inv2);
    expect(count(k, 'flushesFull')).toBe(full + 1);
    expect(violationCount(k.views)).toBe(0);
  });

  it('refuses a busy slot (the caller falls back); K = 2 gives a second slot', () => {
    const { cpu, mm } = machine();
    const k = cpu[0]!;
    const f = frames(k, 2);
    const va = ephmapGet(k, mm, 0, f[0]!, 1, 1);
    expect(ephmapGet(k, mm, 0, f[1]!, 1, 2)).toBe(EBUSY);
    expect(count(k, 'ephmapFallbacks')).toBe(1);
    setEphmapSlots(k, 2);
    const va1 = ephmapGet(k, mm, 1, f[1]!, 1, 2);
    expect(va1).toBeGreaterThan(va);
    expect(ephemeralRead(k, va)).toBe(readFrame(k.frame, f[0]!));
    expect(ephemeralRead(k, va1)).toBe(readFrame(k.frame, f[1]!));
    ephmapPut(k, mm, va1, 1);
    ephmapPut(k, mm, va, 1);
    expect(count(k, 'ephmapMaps')).toBe(2);
  });

  it('ephmap-skip-local-flush: the entry survives put (oracle) and the next get reads the old page', () => {
    const { cpu, mm } = machine();
    const k = cpu[0]!;
    injected[BUG['ephmap-skip-local-flush']!] = 1;
    const f = frames(k, 2);
    const va = ephmapGet(k, mm, 0, f[0]!, 1, 1);
    ephemeralRead(k, va);
    ephmapPut(k, mm, va, 1);
    expect(firstViolation(k.views)).toMatchObject({ kind: V_EPHMAP, cpu: 0, slotCpu: 0, va });
    ephmapGet(k, mm, 0, f[1]!, 1, 1);
    expect(ephemeralRead(k, va)).toBe(readFrame(k.frame, f[0]!));
  });

  it('a slot read from another CPU is an ephmap violation naming the owner', () => {
    const { cpu, mm } = machine();
    const f = frames(cpu[0]!, 1);
    const va = ephmapGet(cpu[0]!, mm, 0, f[0]!, 1, 1);
    ephemeralRead(cpu[1]!, va);
    expect(firstViolation(cpu[0]!.views)).toMatchObject({ kind: V_EPHMAP, cpu: 1, slotCpu: 0, va });
  });
});

/** CPU 0 maps a frame in its slot and reads it; CPU 1, running the same mm, caches the slot speculatively. */
function slotCachedByOtherCpu() {
  const { cpu, mm } = machine();
  const [a, b] = [cpu[0]!, cpu[1]!];
  const f = frames(a, 1);
  const va = ephmapGet(a, mm, 0, f[0]!, 1, 1);
  ephemeralRead(a, va);
  for (let i = 0; i < 20; i++) speculateEphemeral(b, mm, 1);
  expect(b.mmu.tlb.probePfn(va, b.mmu.cr3Pcid)).toBe(f[0]);
  return { mm, a, b, f, va };
}

describe('speculation and the mitigation flush', () => {
  it('another CPU of the mm caches a live slot speculatively; after put only the mitigation flush removes it', () => {
    const { mm, a, b, f, va } = slotCachedByOtherCpu();
    ephmapPut(a, mm, va, 1);
    // The owner flushed locally; the other CPU still translates the slot.
    expect(a.mmu.tlb.probePfn(va, a.mmu.cr3Pcid)).toBe(-1);
    expect(b.mmu.tlb.probePfn(va, b.mmu.cr3Pcid)).toBe(f[0]);
    expect(auditEphemeralLeak(a, mm, f[0]!)).toBe(true);
    expect(firstViolation(a.views)).toMatchObject({ kind: V_ISOLATION, cpu: 1, slotCpu: 0, va, pfn: f[0], frameGen: 1 });
    resetOracle(a.views);
    expect(mitigationFlush(a, mm)).toBe(true);
    expect(count(a, 'mitigationFlushes')).toBe(1);
    expect(auditEphemeralLeak(a, mm, f[0]!)).toBe(false);
    // Nothing mapped since: a second event costs no flush.
    expect(mitigationFlush(a, mm)).toBe(false);
    expect(count(a, 'mitigationFlushes')).toBe(1);
  });

  it('does not count a slot switch_mm has recorded for the mm before its flushing CR3 write dropped the old owner\'s entries', () => {
    // The race the project CI hit (ephmap-copy map=mermap): CPU 1 is
    // handing its ASID slot from mm to `other`; ctxs[asid] already names
    // `other` at its current generation, the CR3 write has not flushed yet,
    // and an audit of `other` scans CPU 1's TLB in that moment.
    const { mm, a, b, f, va } = slotCachedByOtherCpu();
    const other = mmAlloc(a);
    const asid = b.cpuState[b.cpuAt + CPU_LOADED_MM_ASID]!;
    const gen = Atomics.load(a.mm, other * MM_STRIDE + MM_TLB_GEN);
    b.cpuState[b.cpuAt + CPU_CTX_ID + asid] = a.mm[other * MM_STRIDE + MM_CTX_ID]!;
    b.cpuState[b.cpuAt + CPU_CTX_TLB_GEN + asid] = gen;
    expect(auditEphemeralLeak(a, other, f[0]!)).toBe(false);
    expect(violationCount(a.views)).toBe(0);
    // What decides is the ghost generation, which only the flush itself
    // advances: were it to claim the slot flushed for `other` with mm's
    // entry still there, the audit would report it.
    ghostFullFlush(b, asid, other, gen);
    expect(auditEphemeralLeak(a, other, f[0]!)).toBe(true);
    expect(firstViolation(a.views)).toMatchObject({ kind: V_ISOLATION, cpu: 1, slotCpu: 0, va, pfn: f[0] });
  });
});
