// The nonsensitive physmap (src/kernel/asi/physmap.ts): tables pre-allocated
// at boot, one 2 MiB leaf per nonsensitive pageblock, shared by every root
// it is cloned into, and no page-table allocation on a map or unmap.
import { afterEach, describe, expect, it } from 'vitest';
import { INIT_MM, PT_ENTRIES } from '../../native-layout/bits.js';
import { C } from '../../native-layout/counters.js';
import { MM_PGD, MM_STRIDE } from '../../native-layout/fields.js';
import { PAGEBLOCK_NR_PAGES } from '../../native-layout/shape.js';
import { checkPageTables } from '../../src/check/pagetable-invariants.js';
import { writeFrame } from '../../src/hw/frames.js';
import {
  ASI_PHYSMAP_BASE, ASI_PHYSMAP_PGD_INDEX, AsiPhysmapError, asiEnabled, asiPhysmapBlockMapped, asiPhysmapCloneInto,
  asiPhysmapMapBlock, asiPhysmapUnmapBlock, asiPhysmapVa,
} from '../../src/kernel/asi/physmap.js';
import { mmAlloc } from '../../src/kernel/mm/mm.js';
import { KERNEL_PGD_BOUNDARY, PteRef, allocPgtablePage, lookupAddress } from '../../src/kernel/mm/pgtable.js';
import { asiMachine, resetAsiMachine } from './asi-machine.js';

afterEach(resetAsiMachine);

describe('nonsensitive physmap', () => {
  it('sits in a kernel-half PGD slot of its own, away from the direct map and the fixmap', () => {
    expect(ASI_PHYSMAP_PGD_INDEX).toBeGreaterThanOrEqual(KERNEL_PGD_BOUNDARY);
    expect(ASI_PHYSMAP_PGD_INDEX).toBe(401);
    expect(ASI_PHYSMAP_PGD_INDEX).not.toBe(Math.floor(0x888000000000 / 2 ** 39));
    expect(ASI_PHYSMAP_PGD_INDEX).not.toBe(PT_ENTRIES - 1);
    expect(asiPhysmapVa(3)).toBe(ASI_PHYSMAP_BASE + 3 * 4096);
  });

  it('boots with tables for all of memory and every block unmapped (boot state: sensitive)', () => {
    const { mem, boot } = asiMachine(1, { memBytes: 64 * 2 ** 20 });
    expect(asiEnabled(boot.kernel)).toBe(true);
    for (let pfn = 0; pfn < boot.env.frames; pfn += PAGEBLOCK_NR_PAGES) expect(asiPhysmapBlockMapped(boot, pfn)).toBe(false);
    expect(checkPageTables(mem, [boot.mm[INIT_MM * MM_STRIDE + MM_PGD]!])).toEqual([]);
  });

  it('maps a block with one 2 MiB leaf that reads the frames, without allocating a table; unmap makes it fault', () => {
    const { boot, cpu } = asiMachine(2);
    const k = cpu[1]!;
    const block = 2 * PAGEBLOCK_NR_PAGES;
    writeFrame(k.frame, block + 7, 0, 0x1234);
    const tablesBefore = boot.counters[boot.countersAt + C.pageTablesAllocated]! + k.counters[k.countersAt + C.pageTablesAllocated]!;
    asiPhysmapMapBlock(k, block);
    expect(asiPhysmapBlockMapped(k, block + 100)).toBe(true);
    expect(k.mmu.read(asiPhysmapVa(block + 7))).toBe(0x1234);
    // Another root the physmap was cloned into sees the same leaf.
    const mm = mmAlloc(boot);
    expect(mm).toBeGreaterThan(0);
    const ref = new PteRef();
    expect(lookupAddress(boot.env, cpu[0]!.mm[mm * MM_STRIDE + MM_PGD]!, asiPhysmapVa(block + 7), ref)).toBe(2);
    expect(ref.pfn).toBe(block);
    const fresh = allocPgtablePage(boot.env, 0);
    asiPhysmapCloneInto(boot, fresh);
    expect(lookupAddress(boot.env, fresh, asiPhysmapVa(block), ref)).toBe(2);
    asiPhysmapUnmapBlock(k, block);
    const tablesAfter = boot.counters[boot.countersAt + C.pageTablesAllocated]! + k.counters[k.countersAt + C.pageTablesAllocated]!;
    expect(tablesAfter - tablesBefore).toBe(2); // the new mm's PGD and `fresh`: none for the physmap
    expect(asiPhysmapBlockMapped(k, block)).toBe(false);
    k.mmu.flushTlbAll();
    expect(k.mmu.read(asiPhysmapVa(block + 7))).toBeLessThan(0);
  });

  it('refuses blocks that are not pageblock-aligned, and machines without ASI', () => {
    const { cpu } = asiMachine(1);
    expect(() => asiPhysmapMapBlock(cpu[0]!, 5)).toThrow(AsiPhysmapError);
    const off = asiMachine(1, {}, false);
    expect(asiEnabled(off.boot.kernel)).toBe(false);
    expect(() => asiPhysmapMapBlock(off.cpu[0]!, 0)).toThrow(/without ASI/);
  });
});
